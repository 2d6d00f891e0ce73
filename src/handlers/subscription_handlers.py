"""What a customer (or an admin for them) asks of a subscription: cancel now or at period
end, resume a scheduled cancel, change plan. Each answers the subscription as it stands.

Locks in capture's order: the subscription's open lifecycle invoices first, then the
subscription, so a cancel and a renewal's capture cannot deadlock.
"""

import uuid
from datetime import datetime

from src.clock import utc_now
from src.errors import InvalidState, Unprocessable
from src.events.base import EventResult, IEventHandler, Notification
from src.events.checkout_events import InvoiceCreatedEvent
from src.events.invoice_results import InvoiceSnapshot
from src.events.subscription_events import (
    SubscriptionCancelRequestedEvent,
    SubscriptionChangeRequestedEvent,
    SubscriptionPlanChangedEvent,
    SubscriptionResumeRequestedEvent,
)
from src.events.subscription_results import PlanChangeResult, SubscriptionView
from src.models.invoice import InvoiceKind
from src.models.subscription import Subscription, SubscriptionStatus
from src.services.dunning_service import DunningService
from src.services.invoice_service import InvoiceService
from src.services.plan_service import PlanService
from src.services.renewal_service import RenewalService
from src.services.subscription_service import SubscriptionService, recurring
from src.services.subscription_views import SubscriptionViews

_RUNNING = (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE)


class _Owned:
    """Finds the caller's subscription (any user's for an admin) and takes its locks."""

    def __init__(
        self, subscription_service: SubscriptionService, invoice_service: InvoiceService
    ) -> None:
        self._subscriptions = subscription_service
        self._invoices = invoice_service

    def lock(self, subscription_id: uuid.UUID, user_id: uuid.UUID) -> Subscription:
        """``user_id`` is the owner: the caller, or the user an admin's route names."""
        found = self._subscriptions.get_for_user(subscription_id, user_id)
        for invoice in self._invoices.open_for_subscription(found.id):
            self._invoices.get_for_capture(invoice.id)
        return self._subscriptions.lock(found.id)


class CancelSubscriptionHandler(IEventHandler[SubscriptionCancelRequestedEvent, SubscriptionView]):
    """At period end (the default): ``cancel_at_period_end``, access until then, no renewal.
    Now: canceled at once, add-ons end, open renewal or upgrade invoices are voided; no
    refund is made for the rest of the period (an admin refunds the invoice if one is owed).
    A trial canceled either way ends without a charge. A second identical cancel answers
    the same subscription."""

    def __init__(
        self,
        subscription_service: SubscriptionService,
        invoice_service: InvoiceService,
        dunning_service: DunningService,
        views: SubscriptionViews,
    ) -> None:
        self._subscriptions = subscription_service
        self._owned = _Owned(subscription_service, invoice_service)
        self._dunning = dunning_service
        self._views = views

    def handle(self, event: SubscriptionCancelRequestedEvent) -> EventResult[SubscriptionView]:
        subscription = self._owned.lock(event.subscription_id, event.user_id)
        now = utc_now()
        notifications: list[Notification] = []
        if subscription.status is SubscriptionStatus.PENDING:
            raise InvalidState(
                "This subscription has not started: cancel its checkout invoice instead.",
                code="subscription_not_started",
            )
        if subscription.status in (SubscriptionStatus.CANCELED, SubscriptionStatus.EXPIRED):
            raise InvalidState(
                f"This subscription is already {subscription.status.value}.",
                code="subscription_ended",
            )
        running = subscription.status in _RUNNING and self._subscriptions.is_entitled(
            subscription, now
        )
        if event.at_period_end and running:
            if not subscription.cancel_at_period_end:
                self._subscriptions.schedule_cancel(subscription, now)
        else:
            who = "an admin" if event.by_admin else "the customer"
            notifications.append(
                self._subscriptions.cancel_now(subscription, f"canceled now by {who}", now)
            )
            self._dunning.end_everything(subscription, SubscriptionStatus.CANCELED, now)
        return EventResult(self._views.of(subscription, now), tuple(notifications))


class ResumeSubscriptionHandler(IEventHandler[SubscriptionResumeRequestedEvent, SubscriptionView]):
    """Undo a scheduled cancel, before the period ends; anything else is 409."""

    def __init__(
        self,
        subscription_service: SubscriptionService,
        invoice_service: InvoiceService,
        views: SubscriptionViews,
    ) -> None:
        self._subscriptions = subscription_service
        self._owned = _Owned(subscription_service, invoice_service)
        self._views = views

    def handle(self, event: SubscriptionResumeRequestedEvent) -> EventResult[SubscriptionView]:
        subscription = self._owned.lock(event.subscription_id, event.user_id)
        now = utc_now()
        if not (
            subscription.cancel_at_period_end
            and subscription.status in _RUNNING
            and self._subscriptions.is_entitled(subscription, now)
        ):
            raise InvalidState(
                "Only a subscription with a cancel scheduled at its period end can be resumed, "
                "before that end.",
                code="subscription_not_resumable",
            )
        self._subscriptions.resume(subscription, now)
        return EventResult(self._views.of(subscription, now))


class ChangePlanHandler(IEventHandler[SubscriptionChangeRequestedEvent, PlanChangeResult]):
    """An upgrade (a higher price per period) takes effect now, with a proration invoice for
    the rest of the period (src/services/proration.py) that the route charges at once to the
    saved card; the plan changes when it is paid. A downgrade (or the same price) takes
    effect at the next renewal. During a trial the plan changes at once, without a charge.
    Another billing period or currency is 422; a subscription that is not running is 409."""

    def __init__(
        self,
        subscription_service: SubscriptionService,
        invoice_service: InvoiceService,
        plan_service: PlanService,
        renewal_service: RenewalService,
        views: SubscriptionViews,
    ) -> None:
        self._subscriptions = subscription_service
        self._owned = _Owned(subscription_service, invoice_service)
        self._invoices = invoice_service
        self._plans = plan_service
        self._renewals = renewal_service
        self._views = views

    def handle(self, event: SubscriptionChangeRequestedEvent) -> EventResult[PlanChangeResult]:
        subscription = self._owned.lock(event.subscription_id, event.user_id)
        now = utc_now()
        current = subscription.plan
        if not (
            subscription.status in _RUNNING and self._subscriptions.is_entitled(subscription, now)
        ):
            raise InvalidState(
                f"Only a trialing or active subscription can change plan (this one is "
                f"{subscription.status.value}).",
                code="subscription_not_changeable",
            )
        target = self._plans.get_active(event.plan_id)
        if target.billing_period is not current.billing_period or not recurring(
            target.billing_period
        ):
            raise Unprocessable(
                f"{target.name!r} is billed {target.billing_period.value}, your plan "
                f"{current.billing_period.value}: a plan change keeps the billing period. "
                "Cancel and buy the other plan instead.",
                code="billing_period_change",
            )
        if target.currency != current.currency:
            raise Unprocessable(
                f"{target.name!r} is priced in {target.currency}, your plan in "
                f"{current.currency}: a plan change keeps the currency.",
                code="currency_change",
            )
        if target.id == current.id:
            if subscription.pending_plan_id is None:
                raise InvalidState("You are already on this plan.", code="same_plan")
            subscription.pending_plan_id = None
            subscription.pending_plan = None
            return self._answer(subscription, "reverted", now)
        open_invoices = self._invoices.open_for_subscription(subscription.id)
        if any(invoice.kind is InvoiceKind.PRORATION for invoice in open_invoices):
            raise InvalidState(
                "An upgrade of this subscription is waiting for its payment: pay or let it "
                "lapse first.",
                code="upgrade_in_progress",
            )
        changed = SubscriptionPlanChangedEvent(
            subscription_id=subscription.id,
            user_id=subscription.user_id,
            from_plan_id=current.id,
            to_plan_id=target.id,
            proration_amount=None,
        )
        if subscription.status is SubscriptionStatus.TRIALING:
            self._subscriptions.switch_plan(subscription, target.id)
            return self._answer(subscription, "upgraded", now, notifications=(changed,))
        if target.price <= current.price:
            subscription.pending_plan_id = target.id
            subscription.pending_plan = target
            return self._answer(subscription, "scheduled", now)
        invoice = self._renewals.create_proration(subscription, target, now)
        if invoice is None:
            self._subscriptions.switch_plan(subscription, target.id)
            return self._answer(subscription, "upgraded", now, notifications=(changed,))
        created = InvoiceCreatedEvent(
            invoice_id=invoice.id,
            user_id=invoice.user_id,
            number=invoice.number,
            total_amount=invoice.total_amount,
            currency=invoice.currency,
        )
        return EventResult(
            PlanChangeResult(
                self._views.of(subscription, now), "awaiting_payment", InvoiceSnapshot.of(invoice)
            ),
            (created,),
        )

    def _answer(
        self,
        subscription: Subscription,
        change: str,
        now: datetime,
        notifications: tuple[Notification, ...] = (),
    ) -> EventResult[PlanChangeResult]:
        view = self._views.of(subscription, now)
        return EventResult(PlanChangeResult(view, change), notifications)
