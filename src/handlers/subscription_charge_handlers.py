"""The off-session charge of a renewal or upgrade invoice, in three commands around the
provider calls (src/intents/subscription_charge.py runs them): plan, commit the intent,
record the outcome. Locks in capture's order: the invoice, the payment, the subscription.
"""

from datetime import datetime, timedelta

from src.clock import utc_now
from src.errors import NotFound
from src.events.base import EventResult, IEventHandler
from src.events.subscription_events import (
    LifecycleChargeIntentRequestedEvent,
    LifecycleChargeOutcomeReportedEvent,
    LifecycleChargePlannedEvent,
)
from src.events.subscription_results import ChargeIntent, ChargePlan, ChargeResult
from src.models.invoice import Invoice, InvoiceKind, InvoiceStatus
from src.models.payment import OPEN_PAYMENT_STATUSES, SAVED_CARD, Payment, PaymentStatus
from src.models.subscription import SubscriptionStatus
from src.providers.base import RemoteStatus
from src.services.capture_service import CaptureService, off_session_capture
from src.services.dunning_service import DunningService
from src.services.invoice_service import InvoiceService
from src.services.payment_service import PaymentService, existing
from src.services.payment_starts import payment_start
from src.services.subscription_service import SubscriptionService
from src.services.user_service import UserService

NO_CARD = "No saved payment method."


class _ChargeRules:
    """Whether an invoice is (still) to be charged as of an instant: a renewal at its
    period's end or on a due retry, an upgrade while it is open."""

    def __init__(self, subscription_service: SubscriptionService) -> None:
        self._subscriptions = subscription_service

    def reason_to_skip(self, invoice: Invoice, as_of: datetime | None) -> str | None:
        if invoice.status is not InvoiceStatus.PENDING:
            return f"the invoice is {invoice.status.value}"
        if invoice.kind is InvoiceKind.PURCHASE or invoice.subscription_id is None:
            return "not a subscription's invoice"
        if invoice.kind is InvoiceKind.PRORATION or as_of is None:
            return None
        subscription = self._subscriptions.lock(invoice.subscription_id)
        if subscription.current_period_end != invoice.period_start:
            return "the renewal no longer applies"
        if subscription.status in (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE):
            due = invoice.period_start is not None and invoice.period_start <= as_of
            return None if due else "the period has not ended"
        if subscription.status is SubscriptionStatus.PAST_DUE:
            retry_at = subscription.next_retry_at
            return None if retry_at is not None and retry_at <= as_of else "no retry is due"
        return f"the subscription is {subscription.status.value}"

    def status_of(self, invoice: Invoice) -> SubscriptionStatus | None:
        """The subscription's status once the command's work is done (for the answer)."""
        if invoice.subscription_id is None:
            return None
        return self._subscriptions.lock(invoice.subscription_id).status


class PlanLifecycleChargeHandler(IEventHandler[LifecycleChargePlannedEvent, ChargePlan]):
    """Reads only: the customer whose saved card the provider is asked for next."""

    def __init__(
        self,
        invoice_service: InvoiceService,
        user_service: UserService,
        provider_name: str = "stripe",
    ) -> None:
        self._invoices = invoice_service
        self._users = user_service
        self._provider_name = provider_name

    def handle(self, event: LifecycleChargePlannedEvent) -> EventResult[ChargePlan]:
        invoice = self._invoices.find(event.invoice_id)
        if invoice is None:
            raise NotFound("invoice")
        if invoice.status is not InvoiceStatus.PENDING:
            skip = f"the invoice is {invoice.status.value}"
            return EventResult(ChargePlan(skip, self._provider_name))
        customer = self._users.customer_id(self._users.get(invoice.user_id), self._provider_name)
        return EventResult(ChargePlan(None, self._provider_name, customer))


class OpenLifecycleChargeHandler(IEventHandler[LifecycleChargeIntentRequestedEvent, ChargeIntent]):
    """Commits the intent: the invoice's pending off-session payment, whose id is the
    provider's idempotency key, under a start lease (nobody else calls the provider for it
    meanwhile). A payment already open for the invoice (a previous run's, or the customer's
    own) is never doubled: a run finds it and either waits for it or, when its holder died
    before the provider answered, looks for it at the provider first. No saved card is a
    failed attempt at once."""

    def __init__(
        self,
        subscription_service: SubscriptionService,
        invoice_service: InvoiceService,
        payment_service: PaymentService,
        user_service: UserService,
        dunning_service: DunningService,
        expiry_minutes: int,
        lease_seconds: int,
        provider_name: str = "stripe",
    ) -> None:
        self._rules = _ChargeRules(subscription_service)
        self._invoices = invoice_service
        self._payments = payment_service
        self._users = user_service
        self._dunning = dunning_service
        self._expiry = timedelta(minutes=expiry_minutes)
        self._lease = timedelta(seconds=lease_seconds)
        self._provider_name = provider_name

    def handle(self, event: LifecycleChargeIntentRequestedEvent) -> EventResult[ChargeIntent]:
        invoice = self._invoices.get_for_capture(event.invoice_id)
        skip = self._rules.reason_to_skip(invoice, event.as_of)
        if skip is not None:
            return EventResult(ChargeIntent(ChargeResult(invoice.id, "skipped", skip)))
        now = utc_now()
        customer = self._users.customer_id(self._users.get(invoice.user_id), self._provider_name)
        for payment in self._payments.open_payments(invoice.id):
            locked = self._payments.get_locked(payment.id)
            unstarted = locked.method == SAVED_CARD and locked.provider_reference is None
            if not unstarted or self._payments.start_leased(locked, now):
                result = ChargeResult(invoice.id, "pending", "a payment of it is in flight")
                return EventResult(ChargeIntent(result))
            self._payments.lease_start(locked, now + self._lease)
            start = payment_start(locked.id, invoice, customer, card=event.card)
            return EventResult(ChargeIntent(None, start, existing(locked), resumed=True))
        if event.card is None or customer is None:
            notes = self._dunning.charge_failed(invoice, NO_CARD, event.as_of or now)
            status = self._rules.status_of(invoice)
            result = ChargeResult(invoice.id, "failed", NO_CARD, status)
            return EventResult(ChargeIntent(result), tuple(notes))
        payment = self._payments.open(invoice, self._provider_name, SAVED_CARD, now + self._expiry)
        self._payments.lease_start(payment, now + self._lease)
        start = payment_start(payment.id, invoice, customer, card=event.card)
        return EventResult(ChargeIntent(None, start, existing(payment)))


class RecordLifecycleChargeHandler(
    IEventHandler[LifecycleChargeOutcomeReportedEvent, ChargeResult]
):
    """Records what the provider said. Paid → captured through the same capture as the
    webhook (whose later delivery is a duplicate), which starts the renewed period or the
    upgrade; refused → the payment failed and the attempt counts for dunning; waiting for
    the customer (authentication) → a failed attempt too, the payment left open for the
    customer to finish; processing → in flight. Changes nothing once the payment is no
    longer open (a webhook or the janitor came first)."""

    def __init__(
        self,
        subscription_service: SubscriptionService,
        invoice_service: InvoiceService,
        payment_service: PaymentService,
        capture_service: CaptureService,
        dunning_service: DunningService,
    ) -> None:
        self._rules = _ChargeRules(subscription_service)
        self._invoices = invoice_service
        self._payments = payment_service
        self._capture = capture_service
        self._dunning = dunning_service

    def handle(self, event: LifecycleChargeOutcomeReportedEvent) -> EventResult[ChargeResult]:
        known = self._payments.get(event.payment_id)
        if known.invoice_id is None:
            raise NotFound("payment")
        invoice = self._invoices.get_for_capture(known.invoice_id)
        payment = self._payments.get_locked(event.payment_id)
        if payment.status not in OPEN_PAYMENT_STATUSES:
            return EventResult(self._settled(payment, invoice))
        remote = event.remote
        if (
            event.declined is not None
            or remote is None
            or remote.status
            in (RemoteStatus.FAILED, RemoteStatus.CANCELLED, RemoteStatus.NOT_FOUND)
        ):
            reason = event.declined or (remote.failure_message if remote else None)
            reason = reason or "The payment did not go through."
            self._payments.fail(payment, event.decline_code or "card_declined", reason, "renewal")
            payment.start_lease_until = None
            notes = self._dunning.charge_failed(invoice, reason, event.as_of)
            status = self._rules.status_of(invoice)
            return EventResult(ChargeResult(invoice.id, "failed", reason, status), tuple(notes))
        intent_id = remote.payment_intent_id or event.payment_intent_id
        payment.provider_payment_intent_id = payment.provider_payment_intent_id or intent_id
        payment.provider_reference = payment.provider_reference or intent_id
        payment.start_lease_until = None
        if remote.status is RemoteStatus.SUCCEEDED:
            outcome, notifications = self._capture.capture(
                off_session_capture(payment, invoice.id, remote, intent_id, event.as_of)
            )
            status = self._rules.status_of(invoice)
            if outcome.status == "requires_refund":
                reason = outcome.message or "The payment could not be applied."
                return EventResult(
                    ChargeResult(invoice.id, "failed", reason, status), tuple(notifications)
                )
            return EventResult(ChargeResult(invoice.id, "paid", None, status), tuple(notifications))
        if remote.status is RemoteStatus.PROCESSING:
            if self._payments.can_move(payment, PaymentStatus.PROCESSING):
                self._payments.move(payment, PaymentStatus.PROCESSING, "processing at the provider")
            return EventResult(ChargeResult(invoice.id, "pending", "processing at the provider"))
        reason = "The card needs the customer's authentication."
        notes = self._dunning.charge_failed(invoice, reason, event.as_of)
        status = self._rules.status_of(invoice)
        return EventResult(ChargeResult(invoice.id, "failed", reason, status), tuple(notes))

    @staticmethod
    def _settled(payment: Payment, invoice: Invoice) -> ChargeResult:
        if payment.status is PaymentStatus.COMPLETED:
            return ChargeResult(invoice.id, "paid")
        return ChargeResult(invoice.id, "failed", payment.error_message)
