"""What the lifecycle commands answer: snapshots taken while their command ran (they stay true
after the commit expires the rows)."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from src.events.invoice_results import InvoiceSnapshot
from src.models.plan import BillingPeriod
from src.models.subscription import SubscriptionStatus
from src.providers.base import ExistingPayment, PaymentStart


@dataclass(frozen=True)
class DueSubscriptions:
    renewals: tuple[uuid.UUID, ...]
    retries: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class LifecycleStep:
    """``action``: ``not_due`` (nothing to do, or done by someone else), ``charge`` (charge
    ``invoice_id`` next), ``renewed`` (a free period needed no charge), ``canceled``."""

    subscription_id: uuid.UUID
    action: str
    invoice_id: uuid.UUID | None = None
    reason: str | None = None


@dataclass(frozen=True)
class ChargePlan:
    skip_reason: str | None
    provider: str
    customer_id: str | None = None


@dataclass(frozen=True)
class ChargeResult:
    """``outcome``: ``paid``, ``failed`` (an attempt that counts for dunning), ``pending``
    (the provider holds it open: in flight or waiting for the customer), ``skipped``."""

    invoice_id: uuid.UUID
    outcome: str
    reason: str | None = None
    subscription_status: SubscriptionStatus | None = None


@dataclass(frozen=True)
class ChargeIntent:
    """Either a result already (nothing to call the provider for) or what to start."""

    result: ChargeResult | None
    start: PaymentStart | None = None
    existing: ExistingPayment | None = None
    resumed: bool = False


@dataclass(frozen=True)
class PlanSnapshot:
    id: uuid.UUID
    code: str
    name: str
    price: Decimal
    currency: str
    billing_period: BillingPeriod


@dataclass(frozen=True)
class AddOnView:
    id: uuid.UUID
    add_on_id: uuid.UUID
    name: str
    price: Decimal
    billing_period: BillingPeriod
    status: SubscriptionStatus
    expires_at: datetime | None


@dataclass(frozen=True)
class NextRenewal:
    at: datetime
    amount: Decimal
    currency: str
    plan_id: uuid.UUID


@dataclass(frozen=True)
class DunningView:
    attempts: int
    next_retry_at: datetime | None
    retries_left: int
    open_invoice_id: uuid.UUID | None
    access_until: datetime | None


@dataclass(frozen=True)
class StatusChangeView:
    from_status: str | None
    to_status: str
    reason: str
    occurred_at: datetime


@dataclass(frozen=True)
class SubscriptionView:
    id: uuid.UUID
    user_id: uuid.UUID
    plan: PlanSnapshot
    status: SubscriptionStatus
    entitled: bool
    current_period_start: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    canceled_at: datetime | None
    trial_ends_at: datetime | None
    pending_plan: PlanSnapshot | None
    next_renewal: NextRenewal | None
    add_ons: tuple[AddOnView, ...]
    dunning: DunningView | None
    history: tuple[StatusChangeView, ...]
    created_at: datetime


@dataclass(frozen=True)
class PlanChangeResult:
    """``change``: ``upgraded`` (now, proration paid or nothing to pay), ``awaiting_payment``
    (the proration invoice is open: the plan changes when it is paid), ``scheduled`` (a
    downgrade at the next renewal), ``reverted`` (a scheduled downgrade undone)."""

    subscription: SubscriptionView
    change: str
    invoice: InvoiceSnapshot | None = None
