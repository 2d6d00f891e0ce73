"""Time-driven commands of the lifecycle (src/intents/renewals.py runs them for run-due and
the periodic job): what is due, the renewal at a period's end, the retry of a past-due one.

Each locks the subscription row first, so two runs at once (two workers, run-due beside the
job) take turns, and the second finds the work done: one invoice and one charge per period.
"""

from collections.abc import Callable

from src.events.base import EventResult, IEventHandler, Notification
from src.events.checkout_events import InvoiceCreatedEvent
from src.events.subscription_events import (
    DueSubscriptionsListedEvent,
    SubscriptionRenewalRequestedEvent,
    SubscriptionRetryRequestedEvent,
)
from src.events.subscription_results import DueSubscriptions, LifecycleStep
from src.models.invoice import Invoice, InvoiceKind, InvoiceStatus
from src.models.subscription import SubscriptionStatus
from src.services.dunning_service import DunningService
from src.services.invoice_service import InvoiceService
from src.services.renewal_service import RenewalService
from src.services.subscription_service import SubscriptionService, recurring

FreeSettlement = Callable[[Invoice], list[Notification]]


class ListDueSubscriptionsHandler(IEventHandler[DueSubscriptionsListedEvent, DueSubscriptions]):
    def __init__(self, subscription_service: SubscriptionService) -> None:
        self._subscriptions = subscription_service

    def handle(self, event: DueSubscriptionsListedEvent) -> EventResult[DueSubscriptions]:
        renewals = self._subscriptions.due_renewals(event.as_of, event.limit)
        retries = self._subscriptions.due_retries(event.as_of, event.limit)
        return EventResult(DueSubscriptions(tuple(renewals), tuple(retries)))


class RenewSubscriptionHandler(IEventHandler[SubscriptionRenewalRequestedEvent, LifecycleStep]):
    """At the end of a trialing or active period: a scheduled cancel ends the subscription
    (a trial then ends without a charge); otherwise the next period's invoice is opened (an
    unpaid upgrade invoice of the ended period is voided) and handed to the charge. A
    renewal with nothing to pay is settled at once."""

    def __init__(
        self,
        subscription_service: SubscriptionService,
        renewal_service: RenewalService,
        invoice_service: InvoiceService,
        dunning_service: DunningService,
        settle_free: FreeSettlement,
    ) -> None:
        self._subscriptions = subscription_service
        self._renewals = renewal_service
        self._invoices = invoice_service
        self._dunning = dunning_service
        self._settle_free = settle_free

    def handle(self, event: SubscriptionRenewalRequestedEvent) -> EventResult[LifecycleStep]:
        subscription = self._subscriptions.lock(event.subscription_id)
        boundary = subscription.current_period_end
        if (
            subscription.status not in (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE)
            or boundary is None
            or boundary > event.as_of
            or not recurring(subscription.plan.billing_period)
        ):
            return EventResult(LifecycleStep(subscription.id, "not_due"))
        if subscription.cancel_at_period_end:
            trial = subscription.status is SubscriptionStatus.TRIALING
            reason = "trial ended after a cancel" if trial else "canceled at period end"
            note = self._subscriptions.cancel_now(subscription, reason, boundary)
            self._dunning.end_everything(subscription, SubscriptionStatus.CANCELED, boundary)
            return EventResult(LifecycleStep(subscription.id, "canceled", reason=reason), (note,))
        for unpaid in self._invoices.open_for_subscription(subscription.id):
            if unpaid.kind is InvoiceKind.PRORATION:
                self._invoices.void(unpaid, event.as_of)
        invoice, created = self._renewals.find_or_create_renewal(subscription, event.as_of)
        notifications: list[Notification] = []
        if created:
            notifications.append(
                InvoiceCreatedEvent(
                    invoice_id=invoice.id,
                    user_id=invoice.user_id,
                    number=invoice.number,
                    total_amount=invoice.total_amount,
                    currency=invoice.currency,
                )
            )
        if invoice.status is InvoiceStatus.PENDING and invoice.total_amount == 0:
            notifications.extend(self._settle_free(invoice))
            return EventResult(
                LifecycleStep(subscription.id, "renewed", invoice.id), tuple(notifications)
            )
        if invoice.status is not InvoiceStatus.PENDING:
            return EventResult(LifecycleStep(subscription.id, "not_due", invoice.id))
        return EventResult(
            LifecycleStep(subscription.id, "charge", invoice.id), tuple(notifications)
        )


class RetrySubscriptionHandler(IEventHandler[SubscriptionRetryRequestedEvent, LifecycleStep]):
    """A past-due subscription's retry is due: its open renewal invoice is charged again."""

    def __init__(
        self, subscription_service: SubscriptionService, invoice_service: InvoiceService
    ) -> None:
        self._subscriptions = subscription_service
        self._invoices = invoice_service

    def handle(self, event: SubscriptionRetryRequestedEvent) -> EventResult[LifecycleStep]:
        subscription = self._subscriptions.lock(event.subscription_id)
        retry_at = subscription.next_retry_at
        boundary = subscription.current_period_end
        if (
            subscription.status is not SubscriptionStatus.PAST_DUE
            or retry_at is None
            or retry_at > event.as_of
            or boundary is None
        ):
            return EventResult(LifecycleStep(subscription.id, "not_due"))
        invoice = self._invoices.find_renewal(subscription.id, boundary)
        if invoice is None or invoice.status is not InvoiceStatus.PENDING:
            return EventResult(LifecycleStep(subscription.id, "not_due"))
        return EventResult(LifecycleStep(subscription.id, "charge", invoice.id))
