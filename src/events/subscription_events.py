"""The subscription lifecycle: the commands that move a subscription through time (renewal,
dunning retry, cancel, resume, plan change, the charge of a lifecycle invoice) and the facts
published after they commit."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from src.events.base import Command, Notification
from src.events.subscription_results import (
    ChargeIntent,
    ChargePlan,
    ChargeResult,
    DueSubscriptions,
    LifecycleStep,
    PlanChangeResult,
    SubscriptionView,
)
from src.providers.base import RemotePayment


@dataclass(frozen=True, kw_only=True)
class DueSubscriptionsListedEvent(Command[DueSubscriptions]):
    """Reads only: the subscriptions whose period ended, and those whose dunning retry is due,
    as of ``as_of``."""

    name = "subscriptions.due_listed"
    as_of: datetime
    limit: int = 500


@dataclass(frozen=True, kw_only=True)
class SubscriptionRenewalRequestedEvent(Command[LifecycleStep]):
    """At the end of a period: end the subscription (a scheduled cancel), or open the next
    period's renewal invoice (once per period) for the charge that follows."""

    name = "subscription.renewal_requested"
    subscription_id: uuid.UUID
    as_of: datetime


@dataclass(frozen=True, kw_only=True)
class SubscriptionRetryRequestedEvent(Command[LifecycleStep]):
    """A past-due subscription's retry is due: hand back its open renewal invoice."""

    name = "subscription.retry_requested"
    subscription_id: uuid.UUID
    as_of: datetime


@dataclass(frozen=True, kw_only=True)
class LifecycleChargePlannedEvent(Command[ChargePlan]):
    """Reads only: is the invoice still to be charged, and whose saved card is asked for."""

    name = "subscription.charge_planned"
    invoice_id: uuid.UUID


@dataclass(frozen=True, kw_only=True)
class LifecycleChargeIntentRequestedEvent(Command[ChargeIntent]):
    """Commit the intent: the invoice's off-session payment (or find a previous run's)."""

    name = "subscription.charge_intent_requested"
    invoice_id: uuid.UUID
    card: str | None
    as_of: datetime | None  # None: an upgrade, charged when asked


@dataclass(frozen=True, kw_only=True)
class LifecycleChargeOutcomeReportedEvent(Command[ChargeResult]):
    """What the provider said of the off-session charge: captured, or a failed attempt."""

    name = "subscription.charge_outcome_reported"
    payment_id: uuid.UUID
    remote: RemotePayment | None
    payment_intent_id: str | None
    declined: str | None
    decline_code: str | None
    as_of: datetime


@dataclass(frozen=True, kw_only=True)
class SubscriptionCancelRequestedEvent(Command[SubscriptionView]):
    """The owner (``user_id``) or an admin (``by_admin``) cancels now or at period end."""

    name = "subscription.cancel_requested"
    subscription_id: uuid.UUID
    user_id: uuid.UUID
    at_period_end: bool
    by_admin: bool = False


@dataclass(frozen=True, kw_only=True)
class SubscriptionResumeRequestedEvent(Command[SubscriptionView]):
    name = "subscription.resume_requested"
    subscription_id: uuid.UUID
    user_id: uuid.UUID
    by_admin: bool = False


@dataclass(frozen=True, kw_only=True)
class SubscriptionChangeRequestedEvent(Command[PlanChangeResult]):
    """Move to another plan of the same period and currency: an upgrade now (with a
    proration invoice), a downgrade at the next renewal."""

    name = "subscription.change_requested"
    subscription_id: uuid.UUID
    user_id: uuid.UUID
    plan_id: uuid.UUID


@dataclass(frozen=True, kw_only=True)
class SubscriptionStatusNotification(Notification):
    """A status change: ``subscription.renewed``, ``.past_due``, ``.canceled``, ``.expired``
    or ``.trial_started``; ``reason`` as recorded in the status history."""

    subscription_id: uuid.UUID
    user_id: uuid.UUID
    status: str
    reason: str
    current_period_end: datetime | None


@dataclass(frozen=True, kw_only=True)
class SubscriptionRenewedEvent(SubscriptionStatusNotification):
    name = "subscription.renewed"


@dataclass(frozen=True, kw_only=True)
class SubscriptionPastDueEvent(SubscriptionStatusNotification):
    name = "subscription.past_due"


@dataclass(frozen=True, kw_only=True)
class SubscriptionCanceledEvent(SubscriptionStatusNotification):
    name = "subscription.canceled"


@dataclass(frozen=True, kw_only=True)
class SubscriptionExpiredEvent(SubscriptionStatusNotification):
    name = "subscription.expired"


@dataclass(frozen=True, kw_only=True)
class SubscriptionTrialStartedEvent(SubscriptionStatusNotification):
    name = "subscription.trial_started"


@dataclass(frozen=True, kw_only=True)
class SubscriptionPlanChangedEvent(Notification):
    name = "subscription.plan_changed"
    subscription_id: uuid.UUID
    user_id: uuid.UUID
    from_plan_id: uuid.UUID
    to_plan_id: uuid.UUID
    proration_amount: Decimal | None
