"""invoice.cancellation_requested → the invoice and its pending items are cancelled together."""

from src.clock import utc_now
from src.errors import InvalidState
from src.models.payment import PaymentStatus
from src.providers.base import PaymentProviders
from src.events.base import EventResult, IEventHandler
from src.events.invoice_events import InvoiceCancellationRequestedEvent, InvoiceCancelledEvent
from src.events.invoice_results import InvoiceSnapshot
from src.models.invoice import LineItemType
from src.services.addon_service import AddOnService
from src.services.invoice_service import InvoiceService
from src.services.payment_service import PaymentService, existing
from src.services.subscription_service import SubscriptionService
from src.services.token_bundle_service import TokenBundleService


class CancelInvoiceHandler(IEventHandler[InvoiceCancellationRequestedEvent, InvoiceSnapshot]):
    """Only a pending invoice can be cancelled; a paid one needs a refund instead.

    The invoice row is locked first (as capture does), so a cancel and a capture of the same
    invoice cannot interleave: whichever commits first wins and the other is refused.
    """

    def __init__(
        self,
        invoice_service: InvoiceService,
        subscription_service: SubscriptionService,
        token_bundle_service: TokenBundleService,
        add_on_service: AddOnService,
        payment_service: PaymentService,
        payment_providers: PaymentProviders,
    ) -> None:
        self._invoices = invoice_service
        self._subscriptions = subscription_service
        self._bundles = token_bundle_service
        self._add_ons = add_on_service
        self._payments = payment_service
        self._providers = payment_providers

    def handle(self, event: InvoiceCancellationRequestedEvent) -> EventResult[InvoiceSnapshot]:
        now = utc_now()
        invoice = self._invoices.cancel(event.invoice_id, event.user_id, now)
        for line in invoice.line_items:
            if line.item_type is LineItemType.SUBSCRIPTION:
                self._subscriptions.cancel_pending(line.item_id, now)
            elif line.item_type is LineItemType.TOKEN_BUNDLE:
                self._bundles.cancel_purchase(line.item_id)
            else:
                self._add_ons.cancel_pending(line.item_id, now)
        for payment in self._payments.open_payments(invoice.id):
            # Stop it at the provider first: a cancelled invoice must not be charged later.
            # A payment already in the provider's hands cannot be stopped: refuse (409).
            if payment.status is PaymentStatus.PROCESSING:
                raise InvalidState(
                    "A payment of this invoice is being processed; it cannot be cancelled now.",
                    code="payment_in_progress",
                )
            self._providers.get(payment.provider).cancel_payment(existing(payment))
            self._payments.move(payment, PaymentStatus.CANCELLED, "invoice cancelled")
        cancelled = InvoiceCancelledEvent(invoice_id=invoice.id, user_id=invoice.user_id)
        return EventResult(InvoiceSnapshot.of(invoice), (cancelled,))
