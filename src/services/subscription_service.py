"""Subscriptions through time: one open (pending, trialing, active or past due) per user,
periods that follow the calendar, and every status change kept with its reason.

"Now" is always passed in (the injected clock, or run-due's ``--now``): the service never
reads the wall clock, so a test or an operator can move a subscription through months.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from src.errors import Conflict, InvalidState, NotFound
from src.events.base import Notification
from src.events.subscription_events import (
    SubscriptionCanceledEvent,
    SubscriptionExpiredEvent,
    SubscriptionPastDueEvent,
    SubscriptionRenewedEvent,
    SubscriptionStatusNotification,
    SubscriptionTrialStartedEvent,
)
from src.models.invoice import Invoice
from src.models.plan import BillingPeriod, Plan
from src.models.subscription import (
    STARTED_STATUSES,
    Subscription,
    SubscriptionStatus,
    SubscriptionStatusChange,
)
from src.repositories.base import DuplicateRow
from src.services.billing_periods import period_end
from src.services.dunning_policy import DunningPolicy
from src.services.subscription_access import grants_access
from src.services.ports import SubscriptionRepositoryPort

_NOTIFICATIONS: dict[SubscriptionStatus, type[SubscriptionStatusNotification]] = {
    SubscriptionStatus.ACTIVE: SubscriptionRenewedEvent,
    SubscriptionStatus.TRIALING: SubscriptionTrialStartedEvent,
    SubscriptionStatus.PAST_DUE: SubscriptionPastDueEvent,
    SubscriptionStatus.CANCELED: SubscriptionCanceledEvent,
    SubscriptionStatus.EXPIRED: SubscriptionExpiredEvent,
}


@dataclass(frozen=True)
class NewSubscription:
    """A checkout's pending subscription, and the one whose ended period it replaced (now
    ``expired``: the caller ends what hangs off it)."""

    subscription: Subscription
    lapsed: Subscription | None
    notifications: list[Notification]


class SubscriptionService:
    def __init__(
        self, subscriptions: SubscriptionRepositoryPort, policy: DunningPolicy | None = None
    ) -> None:
        self._subscriptions = subscriptions
        self._policy = policy or DunningPolicy()

    # --- reads -------------------------------------------------------------------------

    def is_entitled(self, subscription: Subscription, now: datetime) -> bool:
        """Time-correct, whatever the jobs did yet (src/services/subscription_access.py)."""
        return grants_access(subscription, now, self._policy)

    def find_current(self, user_id: uuid.UUID, now: datetime) -> Subscription | None:
        """The user's subscription that grants access now (None when it lapsed)."""
        subscription = self._subscriptions.find_open_for_user(user_id)
        if subscription is None or not self.is_entitled(subscription, now):
            return None
        return subscription

    def find_open(self, user_id: uuid.UUID) -> Subscription | None:
        return self._subscriptions.find_open_for_user(user_id)

    def get_for_user(self, subscription_id: uuid.UUID, user_id: uuid.UUID) -> Subscription:
        """Another user's subscription is indistinguishable from a missing one: 404."""
        subscription = self._subscriptions.get(subscription_id)
        if subscription is None or subscription.user_id != user_id:
            raise NotFound("subscription")
        return subscription

    def lock_for_user(self, subscription_id: uuid.UUID, user_id: uuid.UUID) -> Subscription:
        subscription = self._subscriptions.get(subscription_id, for_update=True)
        if subscription is None or subscription.user_id != user_id:
            raise NotFound("subscription")
        return subscription

    def lock(self, subscription_id: uuid.UUID) -> Subscription:
        subscription = self._subscriptions.get(subscription_id, for_update=True)
        if subscription is None:
            raise NotFound("subscription")
        return subscription

    def list_for_user(self, user_id: uuid.UUID) -> list[Subscription]:
        """The open one first, then the others newest first."""
        return self._subscriptions.list_for_user(user_id)

    def history(self, subscription_id: uuid.UUID) -> list[SubscriptionStatusChange]:
        return self._subscriptions.history(subscription_id)

    def due_renewals(self, as_of: datetime, limit: int) -> list[uuid.UUID]:
        return self._subscriptions.due_renewals(as_of, limit)

    def due_retries(self, as_of: datetime, limit: int) -> list[uuid.UUID]:
        return self._subscriptions.due_retries(as_of, limit)

    @property
    def policy(self) -> DunningPolicy:
        return self._policy

    # --- checkout and capture ----------------------------------------------------------

    def create_pending(self, user_id: uuid.UUID, plan: Plan, now: datetime) -> "NewSubscription":
        """A PENDING subscription; 409 ``subscription_exists`` if one is open.

        An open subscription whose period ended (a lapse the jobs have not seen yet) does not
        block: it expires here. The plan's trial is granted to a customer's first
        subscription to it (``trial_ends_at``, provisional until the payment starts it).
        The service check gives the friendly answer; the partial unique index gives the same
        answer to the loser of two concurrent checkouts.
        """
        notifications: list[Notification] = []
        open_one = self._subscriptions.get_open_for_user_locked(user_id)
        if open_one is not None:
            note = self.lapse_if_ended(open_one, now)
            if note is None:
                raise self._exists(open_one)
            notifications.append(note)
        trial_ends_at = None
        if plan.trial_days and not self._subscriptions.had_trial(user_id, plan.id):
            trial_ends_at = now + timedelta(days=plan.trial_days)
        subscription = Subscription(
            user_id=user_id,
            plan_id=plan.id,
            plan=plan,
            status=SubscriptionStatus.PENDING,
            trial_ends_at=trial_ends_at,
        )
        try:
            added = self._subscriptions.add(subscription)
        except DuplicateRow as error:
            raise self._exists(None) from error
        self._record(added, None, "checkout", now)
        return NewSubscription(added, open_one, notifications)

    def lapse_if_ended(self, subscription: Subscription, now: datetime) -> Notification | None:
        """A trialing or active subscription whose period ended without renewal expires."""
        if subscription.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING):
            return None
        end = subscription.current_period_end
        if end is None or end > now:
            return None
        return self._move(subscription, SubscriptionStatus.EXPIRED, "period ended", now)

    def activate(self, subscription_id: uuid.UUID, now: datetime) -> Subscription:
        """PENDING → TRIALING (a granted trial, for ``trial_days`` from now) or ACTIVE (one
        billing period from now); anything else is refused."""
        subscription = self.lock(subscription_id)
        if subscription.status is not SubscriptionStatus.PENDING:
            raise InvalidState(
                f"Only a pending subscription can be activated (this one is "
                f"{subscription.status.value}).",
                code="subscription_not_pending",
            )
        subscription.starts_at = now
        subscription.current_period_start = now
        if subscription.trial_ends_at is not None:
            subscription.trial_ends_at = now + timedelta(days=subscription.plan.trial_days)
            subscription.current_period_end = subscription.trial_ends_at
            self._move(subscription, SubscriptionStatus.TRIALING, "trial started", now)
        else:
            subscription.current_period_end = period_end(now, subscription.plan.billing_period)
            self._move(subscription, SubscriptionStatus.ACTIVE, "paid", now)
        return subscription

    def renew(self, subscription_id: uuid.UUID, invoice: Invoice, now: datetime) -> Notification:
        """A paid renewal invoice starts the period it was made for, from its boundary (no
        free days, no lost days, however late it is paid during dunning)."""
        subscription = self.lock(subscription_id)
        if (
            subscription.status not in STARTED_STATUSES
            or invoice.period_start is None
            or subscription.current_period_end != invoice.period_start
        ):
            raise InvalidState(
                "This renewal no longer applies to its subscription "
                f"(it is {subscription.status.value}).",
                code="renewal_not_applicable",
            )
        was_past_due = subscription.status is SubscriptionStatus.PAST_DUE
        if invoice.target_plan_id is not None and invoice.target_plan_id != subscription.plan_id:
            subscription.plan_id = invoice.target_plan_id
            self._subscriptions.refresh_plan(subscription)
        if subscription.pending_plan_id == subscription.plan_id:
            subscription.pending_plan_id = None
        subscription.current_period_start = invoice.period_start
        subscription.current_period_end = invoice.period_end
        subscription.dunning_attempts = 0
        subscription.next_retry_at = None
        reason = "renewal paid during dunning" if was_past_due else "renewed"
        return self._move(subscription, SubscriptionStatus.ACTIVE, reason, now, always=True)

    def upgrade(self, subscription_id: uuid.UUID, invoice: Invoice, now: datetime) -> None:
        """A paid proration invoice moves the subscription to its plan for the rest of the
        period it was priced for."""
        subscription = self.lock(subscription_id)
        if (
            subscription.status not in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING)
            or invoice.target_plan_id is None
            or subscription.current_period_end != invoice.period_end
            or not self.is_entitled(subscription, now)
        ):
            raise InvalidState(
                "This upgrade no longer applies to its subscription.",
                code="upgrade_not_applicable",
            )
        self.switch_plan(subscription, invoice.target_plan_id)

    def switch_plan(self, subscription: Subscription, plan_id: uuid.UUID) -> None:
        subscription.plan_id = plan_id
        subscription.pending_plan_id = None
        self._subscriptions.refresh_plan(subscription)

    def cancel_pending(self, subscription_id: uuid.UUID, now: datetime) -> Subscription:
        """An unpaid subscription is dropped with its invoice (it frees the user's plan slot,
        and a trial it would have started stays available)."""
        return self._end_pending(subscription_id, SubscriptionStatus.CANCELED, now)

    def expire_pending(self, subscription_id: uuid.UUID, now: datetime) -> Subscription:
        """The checkout was abandoned (its invoice expired)."""
        return self._end_pending(subscription_id, SubscriptionStatus.EXPIRED, now)

    def _end_pending(
        self, subscription_id: uuid.UUID, status: SubscriptionStatus, now: datetime
    ) -> Subscription:
        subscription = self.lock(subscription_id)
        if subscription.status is not SubscriptionStatus.PENDING:
            raise InvalidState(
                "Only a pending subscription can be dropped.", code="subscription_not_pending"
            )
        subscription.trial_ends_at = None
        if status is SubscriptionStatus.CANCELED:
            subscription.canceled_at = now
        reason = "checkout cancelled" if status is SubscriptionStatus.CANCELED else "unpaid"
        self._move(subscription, status, reason, now)
        return subscription

    def end_for_refund(self, subscription_id: uuid.UUID, now: datetime) -> None:
        """A refunded subscription stops now (an already ended one is left as it is)."""
        subscription = self._subscriptions.get(subscription_id, for_update=True)
        if subscription is not None and subscription.status in (
            SubscriptionStatus.PENDING,
            *STARTED_STATUSES,
        ):
            subscription.canceled_at = now
            self._move(subscription, SubscriptionStatus.CANCELED, "refunded", now)

    # --- the lifecycle -----------------------------------------------------------------

    def cancel_now(self, subscription: Subscription, reason: str, now: datetime) -> Notification:
        """Ends the subscription at ``now``. ``canceled_at`` keeps when a scheduled cancel
        was asked for (as Stripe's does); otherwise it is ``now``."""
        if not (subscription.cancel_at_period_end and subscription.canceled_at is not None):
            subscription.canceled_at = now
        subscription.next_retry_at = None
        return self._move(subscription, SubscriptionStatus.CANCELED, reason, now)

    def expire(self, subscription: Subscription, reason: str, now: datetime) -> Notification:
        subscription.next_retry_at = None
        return self._move(subscription, SubscriptionStatus.EXPIRED, reason, now)

    def schedule_cancel(self, subscription: Subscription, now: datetime) -> None:
        subscription.cancel_at_period_end = True
        subscription.canceled_at = now
        self._record(subscription, subscription.status, "cancel at period end requested", now)

    def resume(self, subscription: Subscription, now: datetime) -> None:
        subscription.cancel_at_period_end = False
        subscription.canceled_at = None
        self._record(subscription, subscription.status, "scheduled cancel undone", now)

    def charge_failed(
        self, subscription: Subscription, boundary: datetime, reason: str, now: datetime
    ) -> tuple[Notification | None, bool]:
        """One failed charge of the open renewal invoice. The first makes the subscription
        past due; each retry follows the policy; after the last, dunning gives up. Answers
        the notification and whether dunning gave up (the caller ends add-ons and the
        invoice)."""
        subscription.dunning_attempts += 1
        retry_at = self._policy.next_retry(boundary, subscription.dunning_attempts)
        subscription.next_retry_at = retry_at
        if retry_at is None:
            note = self.cancel_now(subscription, f"dunning ended: {reason}", now)
            return note, True
        if subscription.status is not SubscriptionStatus.PAST_DUE:
            return self._move(subscription, SubscriptionStatus.PAST_DUE, reason, now), False
        self._record(subscription, subscription.status, f"retry failed: {reason}", now)
        return None, False

    # --- internals ---------------------------------------------------------------------

    def _move(
        self,
        subscription: Subscription,
        status: SubscriptionStatus,
        reason: str,
        now: datetime,
        always: bool = False,
    ) -> Notification:
        before = subscription.status
        subscription.status = status
        if before is not status or always:
            self._record(subscription, before, reason, now)
        return _NOTIFICATIONS[status](
            subscription_id=subscription.id,
            user_id=subscription.user_id,
            status=status.value,
            reason=reason,
            current_period_end=subscription.current_period_end,
        )

    def _record(
        self,
        subscription: Subscription,
        before: SubscriptionStatus | None,
        reason: str,
        now: datetime,
    ) -> None:
        self._subscriptions.add_history(
            SubscriptionStatusChange(
                subscription_id=subscription.id,
                from_status=before.value if before is not None else None,
                to_status=subscription.status.value,
                reason=reason[:500],
                occurred_at=now,
            )
        )

    @staticmethod
    def _exists(subscription: Subscription | None) -> Conflict:
        if subscription is not None and subscription.status is SubscriptionStatus.PAST_DUE:
            return Conflict(
                "Your subscription is past due: pay its open invoice or cancel it first.",
                code="subscription_exists",
            )
        return Conflict(
            "You already have an open subscription (pending, trialing, active or past due).",
            code="subscription_exists",
        )


def recurring(period: BillingPeriod) -> bool:
    return period is not BillingPeriod.ONE_TIME
