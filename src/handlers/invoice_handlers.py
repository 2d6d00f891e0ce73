"""invoice.cancellation_requested → the invoice and its pending items are cancelled together,
once none of its payments is open (src/intents/invoice_cancel.py stops them at their
provider in between, with no transaction open)."""

from src.clock import utc_now
from src.events.base import EventResult, IEventHandler
from src.events.invoice_events import (
    InvoiceCancellationRequestedEvent,
    InvoiceCancelledEvent,
    InvoiceCancelPlan,
)
from src.events.invoice_results import InvoiceSnapshot
from src.events.payment_start_events import PaymentToStop
from src.errors import InvalidState
from src.models.invoice import InvoiceKind, LineItemType
from src.models.payment import OPEN_PAYMENT_STATUSES, PaymentStatus
from src.services.addon_service import AddOnService
from src.services.invoice_service import InvoiceService
from src.services.payment_service import PaymentService, existing
from src.services.subscription_service import SubscriptionService
from src.services.token_bundle_service import TokenBundleService


class CancelInvoiceHandler(IEventHandler[InvoiceCancellationRequestedEvent, InvoiceCancelPlan]):
    """Only a pending invoice can be cancelled; a paid one needs a refund instead.

    The invoice row is locked first (as capture does), so a cancel and a capture of the same
    invoice cannot interleave. The payments the process stopped at their provider are
    recorded CANCELLED; any other open payment is answered to be stopped first (a cancelled
    invoice must never be charged later), and one already in the provider's hands
    (PROCESSING) refuses the cancel. Only when none is open is the invoice cancelled.
    """

    def __init__(
        self,
        invoice_service: InvoiceService,
        subscription_service: SubscriptionService,
        token_bundle_service: TokenBundleService,
        add_on_service: AddOnService,
        payment_service: PaymentService,
    ) -> None:
        self._invoices = invoice_service
        self._subscriptions = subscription_service
        self._bundles = token_bundle_service
        self._add_ons = add_on_service
        self._payments = payment_service

    def handle(self, event: InvoiceCancellationRequestedEvent) -> EventResult[InvoiceCancelPlan]:
        invoice = self._invoices.get_cancellable(event.invoice_id, event.user_id)
        if invoice.kind is not InvoiceKind.PURCHASE:
            raise InvalidState(
                f"Invoice {invoice.number} is a subscription's {invoice.kind.value} invoice: "
                "pay it, or cancel the subscription (which voids it).",
                code="invoice_not_cancellable",
            )
        for payment_id in event.stopped:
            payment = self._payments.get_locked(payment_id)
            if payment.invoice_id == invoice.id and payment.status in OPEN_PAYMENT_STATUSES:
                self._payments.move(payment, PaymentStatus.CANCELLED, "invoice cancelled")
        still_open = self._payments.open_payments(invoice.id)
        if any(payment.status is PaymentStatus.PROCESSING for payment in still_open):
            return EventResult(InvoiceCancelPlan(refused=True))
        if still_open:
            to_stop = tuple(PaymentToStop(p.id, p.provider, existing(p)) for p in still_open)
            return EventResult(InvoiceCancelPlan(to_stop=to_stop))
        now = utc_now()
        invoice = self._invoices.cancel(event.invoice_id, event.user_id, now)
        for line in invoice.line_items:
            if line.item_type is LineItemType.SUBSCRIPTION:
                self._subscriptions.cancel_pending(line.item_id, now)
            elif line.item_type is LineItemType.TOKEN_BUNDLE:
                self._bundles.cancel_purchase(line.item_id)
            else:
                self._add_ons.cancel_pending(line.item_id, now)
        cancelled = InvoiceCancelledEvent(invoice_id=invoice.id, user_id=invoice.user_id)
        return EventResult(InvoiceCancelPlan(snapshot=InvoiceSnapshot.of(invoice)), (cancelled,))
