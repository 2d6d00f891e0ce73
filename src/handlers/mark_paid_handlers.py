"""invoice.mark_paid_checked → the open provider payments of an invoice an admin settles by
hand (src/intents/mark_paid.py stops them at their provider in between, with no transaction
open). Nothing here calls a provider."""

from src.events.base import EventResult, IEventHandler
from src.events.mark_paid_events import MarkPaidCheckRequestedEvent, MarkPaidPlan
from src.events.payment_start_events import PaymentToStop
from src.models.invoice import InvoiceStatus
from src.models.payment import OPEN_PAYMENT_STATUSES, PaymentStatus
from src.services.invoice_service import InvoiceService
from src.services.payment_service import PaymentService, existing

# The admin's own path: an open manual payment is the one this settlement confirms.
MANUAL_PROVIDER = "manual"


class CheckMarkPaidHandler(IEventHandler[MarkPaidCheckRequestedEvent, MarkPaidPlan]):
    """The invoice row is locked first (as capture locks it). A paid, cancelled or expired
    invoice has nothing to stop: capture answers it (a duplicate, or 409)."""

    def __init__(self, invoice_service: InvoiceService, payment_service: PaymentService) -> None:
        self._invoices = invoice_service
        self._payments = payment_service

    def handle(self, event: MarkPaidCheckRequestedEvent) -> EventResult[MarkPaidPlan]:
        invoice = self._invoices.get_for_capture(event.invoice_id)
        if invoice.status is not InvoiceStatus.PENDING:
            return EventResult(MarkPaidPlan())
        for payment_id in event.stopped:
            payment = self._payments.get_locked(payment_id)
            if payment.invoice_id == invoice.id and payment.status in OPEN_PAYMENT_STATUSES:
                self._payments.move(
                    payment, PaymentStatus.CANCELLED, "invoice marked paid by an admin"
                )
        still_open = [
            payment
            for payment in self._payments.open_payments(invoice.id)
            if payment.provider != MANUAL_PROVIDER
        ]
        return EventResult(
            MarkPaidPlan(
                to_stop=tuple(PaymentToStop(p.id, p.provider, existing(p)) for p in still_open),
                in_progress=any(p.status is PaymentStatus.PROCESSING for p in still_open),
            )
        )
