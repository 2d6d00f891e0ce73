"""Listing payments to resolve, and recording what their provider says of them.

Confirmed money is never expired: a payment the provider reports succeeded is captured through
the same capture as the webhook (a later webhook is a duplicate). Failed, cancelled, never
started or expired payments close, publish ``payment.failed`` (auto-reload bookkeeping listens)
and leave their invoice payable. A payment that is no longer open is left as it is.
"""

from src.errors import recordable_failure
from src.events.base import EventResult, IEventHandler
from src.events.payment_events import PaymentFailedEvent
from src.events.reconcile_events import (
    OpenPayment,
    OpenPaymentsListedEvent,
    PaymentResolutionReportedEvent,
    Resolution,
)
from src.models.payment import OPEN_PAYMENT_STATUSES, Payment, PaymentStatus
from src.providers.base import RemoteStatus
from src.services.capture_request import CaptureRequest
from src.services.capture_service import CaptureService, capture_request
from src.services.invoice_service import InvoiceService
from src.services.payment_service import PaymentService, existing

# What a capture's outcome means for the payment being resolved.
RESOLUTIONS: dict[str, Resolution] = {"success": "captured", "requires_refund": "requires_refund"}
CLOSING: dict[RemoteStatus, tuple[PaymentStatus, str]] = {
    RemoteStatus.CANCELLED: (PaymentStatus.CANCELLED, "cancelled at the provider"),
    RemoteStatus.NOT_FOUND: (PaymentStatus.EXPIRED, "never started at the provider"),
}


class ListOpenPaymentsHandler(IEventHandler[OpenPaymentsListedEvent, list[OpenPayment]]):
    def __init__(self, payment_service: PaymentService) -> None:
        self._payments = payment_service

    def handle(self, event: OpenPaymentsListedEvent) -> EventResult[list[OpenPayment]]:
        rows = self._payments.list_open_before(event.created_before, event.statuses, event.limit)
        return EventResult([OpenPayment(row.id, row.provider, existing(row)) for row in rows])


class ResolvePaymentHandler(IEventHandler[PaymentResolutionReportedEvent, Resolution]):
    def __init__(
        self,
        payment_service: PaymentService,
        invoice_service: InvoiceService,
        capture_service: CaptureService,
    ) -> None:
        self._payments = payment_service
        self._invoices = invoice_service
        self._capture = capture_service
        self._request: CaptureRequest | None = None

    def handle(self, event: PaymentResolutionReportedEvent) -> EventResult[Resolution]:
        payment = self._payments.get(event.payment_id)
        remote = event.remote
        if remote.status is RemoteStatus.SUCCEEDED and payment.invoice_id is not None:
            self._request = capture_request(payment, payment.invoice_id, remote)
            outcome, notifications = self._capture.capture(self._request)
            resolution: Resolution = RESOLUTIONS.get(outcome.status, "unchanged")
            return EventResult(resolution, tuple(notifications))
        payment = self._payments.get_locked(event.payment_id)
        if payment.status not in OPEN_PAYMENT_STATUSES:
            return EventResult("unchanged")
        if remote.payment_intent_id and payment.provider_payment_intent_id is None:
            payment.provider_payment_intent_id = remote.payment_intent_id
            payment.provider_reference = payment.provider_reference or remote.payment_intent_id
        if remote.status is RemoteStatus.FAILED:
            self._payments.fail(payment, "payment_failed", remote.failure_message, event.source)
            return EventResult("failed", (self._failed(payment, remote.failure_message),))
        if remote.status in CLOSING:
            to, reason = CLOSING[remote.status]
            if not self._payments.can_move(payment, to):
                return EventResult("unchanged")  # e.g. processing never "expires"
            self._payments.move(payment, to, reason)
            resolution = "cancelled" if to is PaymentStatus.CANCELLED else "expired"
            return EventResult(resolution, (self._failed(payment, reason),))
        if remote.status is RemoteStatus.PROCESSING:
            if self._payments.can_move(payment, PaymentStatus.PROCESSING):
                self._payments.move(payment, PaymentStatus.PROCESSING, "processing at the provider")
            return EventResult("processing")
        if event.stopped_at_provider and payment.status is PaymentStatus.PENDING:
            self._payments.move(payment, PaymentStatus.EXPIRED, "checkout not finished")
            return EventResult("expired", (self._failed(payment, "The payment expired."),))
        return EventResult("open")

    def on_failure(self, event: PaymentResolutionReportedEvent, error: Exception) -> None:
        """A capture that was refused (e.g. amount mismatch) is kept, as the webhook's is."""
        if self._request is not None:
            self._capture.record_refusal(self._request, recordable_failure(error))

    @staticmethod
    def _failed(payment: Payment, reason: str | None) -> PaymentFailedEvent:
        return PaymentFailedEvent(
            payment_id=payment.id,
            invoice_id=payment.invoice_id,
            user_id=payment.user_id,
            reason=reason,
        )
