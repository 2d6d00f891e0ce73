"""Verifying a payment in two commands around the provider read (src/intents/payment_verify.py
calls the provider between them, with no transaction open): read the caller's payment, then
capture exactly as the webhook would, or record the failure.

The recovery path for a webhook that never arrived. It races the webhook safely: both go
through CaptureService with the same reference (the provider's payment id) under the invoice
lock, so whichever comes second finds the invoice paid and credits nothing.
"""

from src.errors import recordable_failure
from src.events.base import EventResult, IEventHandler, Notification
from src.events.payment_events import PaymentVerificationRequestedEvent
from src.events.payment_results import VerifyOutcome
from src.events.payment_verify_events import PaymentVerificationReportedEvent, VerifyPlan
from src.models.payment import PaymentStatus
from src.providers.base import RemoteStatus
from src.services.capture_request import CaptureRequest
from src.services.capture_service import CaptureService, capture_request
from src.services.invoice_service import InvoiceService
from src.services.payment_service import PaymentService, existing


class VerifyPaymentHandler(IEventHandler[PaymentVerificationRequestedEvent, VerifyPlan]):
    """Reads only: the caller's payment (another user's is a 404, like a missing one)."""

    def __init__(self, payment_service: PaymentService) -> None:
        self._payments = payment_service

    def handle(self, event: PaymentVerificationRequestedEvent) -> EventResult[VerifyPlan]:
        payment = self._payments.get_for_user(event.payment_id, event.user_id)
        return EventResult(VerifyPlan(payment.id, payment.provider, existing(payment)))


class RecordVerificationHandler(IEventHandler[PaymentVerificationReportedEvent, VerifyOutcome]):
    """What the provider said: succeeded → captured; failed → failed; processing → processing;
    anything else changes nothing."""

    def __init__(
        self,
        payment_service: PaymentService,
        capture_service: CaptureService,
        invoice_service: InvoiceService,
    ) -> None:
        self._payments = payment_service
        self._capture = capture_service
        self._invoices = invoice_service
        self._request: CaptureRequest | None = None

    def handle(self, event: PaymentVerificationReportedEvent) -> EventResult[VerifyOutcome]:
        payment = self._payments.get_for_user(event.payment_id, event.user_id)
        remote = event.remote
        captured = False
        notifications: list[Notification] = []
        if remote.status is RemoteStatus.SUCCEEDED and payment.invoice_id is not None:
            self._request = capture_request(payment, payment.invoice_id, remote)
            outcome, notifications = self._capture.capture(self._request)
            captured = outcome.status == "success"
        elif remote.status is RemoteStatus.FAILED:
            locked = self._payments.get_locked(payment.id)
            self._payments.fail(locked, "payment_failed", remote.failure_message, "verify")
        elif remote.status is RemoteStatus.PROCESSING:
            locked = self._payments.get_locked(payment.id)
            if self._payments.can_move(locked, PaymentStatus.PROCESSING):
                self._payments.move(locked, PaymentStatus.PROCESSING, "provider is processing")
        invoice = self._invoices.find(payment.invoice_id) if payment.invoice_id else None
        outcome_data = VerifyOutcome(
            payment_id=payment.id,
            payment_status=payment.status,
            invoice_status=invoice.status.value if invoice else "unknown",
            captured=captured,
        )
        return EventResult(outcome_data, tuple(notifications))

    def on_failure(self, event: PaymentVerificationReportedEvent, error: Exception) -> None:
        """A capture the check started and then refused (e.g. amount mismatch) is kept."""
        if self._request is not None:
            self._capture.record_refusal(self._request, recordable_failure(error))
