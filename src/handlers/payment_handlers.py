"""Provider outcomes: a captured payment, a failed attempt. (Refunds and disputes seen at the
provider: src/handlers/provider_refund_handlers.py.)"""

import logging
from collections.abc import Callable

from src.errors import NotFound, recordable_failure
from src.events.base import EventResult, IEventHandler
from src.events.payment_events import (
    PaymentCapturedEvent,
    PaymentFailedEvent,
    PaymentFailureReportedEvent,
)
from src.events.payment_results import CaptureOutcome, WebhookOutcome
from src.services.capture_request import CaptureRequest
from src.services.capture_service import CaptureService
from src.services.invoice_service import InvoiceService
from src.services.one_statement_capture import OneStatementCapture
from src.services.payment_service import PaymentClaim, PaymentService
from src.services.webhook_event_service import WebhookEventService

logger = logging.getLogger(__name__)


class PaymentCapturedHandler(IEventHandler[PaymentCapturedEvent, CaptureOutcome]):
    """payment.captured → CaptureService, once per provider event; refusals are recorded.

    ``capture_service`` is a factory: the one statement settles most webhooks, and the
    service (ten others behind it) is built only for the captures it leaves."""

    def __init__(
        self,
        one_statement: OneStatementCapture,
        capture_service: Callable[[], CaptureService],
        invoice_service: InvoiceService,
        webhook_event_service: WebhookEventService,
    ) -> None:
        self._one_statement = one_statement
        self._capture_service = capture_service
        self._invoices = invoice_service
        self._events = webhook_event_service

    def handle(self, event: PaymentCapturedEvent) -> EventResult[CaptureOutcome]:
        if event.provider_event_id and not self._events.first_delivery(
            event.provider, event.provider_event_id, event.provider_event_type or event.name
        ):
            return EventResult(CaptureOutcome("already_processed", event.invoice_id, 0))
        request = self._request(event)
        settled = self._one_statement.settle(request)
        if settled is None:
            settled = self._capture_service().capture_in_full(request)
        outcome, notifications = settled
        return EventResult(outcome, tuple(notifications))

    def on_failure(self, event: PaymentCapturedEvent, error: Exception) -> None:
        try:
            request = self._request(event)
        except NotFound:
            return  # an admin's settlement of an invoice that does not exist: nothing to keep
        self._capture_service().record_refusal(request, recordable_failure(error))

    def _request(self, event: PaymentCapturedEvent) -> CaptureRequest:
        """The claim; the admin path (no amount) settles the invoice's own total in full."""
        amount, currency = event.amount, event.currency
        if amount is None or currency is None:
            invoice = self._invoices.find(event.invoice_id)
            if invoice is None:
                raise NotFound("invoice")
            amount, currency = invoice.total_amount, invoice.currency
        return CaptureRequest(
            invoice_id=event.invoice_id,
            claim=PaymentClaim(
                provider=event.provider,
                reference=event.payment_reference,
                amount=amount,
                currency=currency,
                payload_digest=event.payload_digest,
                recorded_by=event.recorded_by,
                note=event.note,
            ),
            payment_id=event.payment_id,
            payment_intent_id=event.payment_intent_id,
            charge_id=event.charge_id,
            customer_id=event.customer_id,
            # An admin's settlement (recorded_by) moved no money at a provider: refused as is.
            confirmed_by_provider=event.recorded_by is None,
        )


class PaymentFailureHandler(IEventHandler[PaymentFailureReportedEvent, WebhookOutcome]):
    """The attempt failed: the payment says so (with the provider's reason), the invoice stays
    payable. A failure that arrives after the payment completed never moves it backwards."""

    def __init__(
        self, payment_service: PaymentService, webhook_event_service: WebhookEventService
    ) -> None:
        self._payments = payment_service
        self._events = webhook_event_service

    def handle(self, event: PaymentFailureReportedEvent) -> EventResult[WebhookOutcome]:
        if not self._events.first_delivery(
            event.provider, event.provider_event_id, event.provider_event_type
        ):
            return EventResult(
                WebhookOutcome(status="already_processed", event_id=event.provider_event_id)
            )
        payment = self._payments.find_for_provider_event(
            event.provider, event.payment_id, event.payment_intent_id, None
        )
        if payment is None or not self._payments.fail(
            payment, event.failure_code, event.failure_message, event.provider_event_id
        ):
            logger.info(
                "payment failure ignored (unknown or already settled): %s", event.provider_event_id
            )
            return EventResult(WebhookOutcome(status="ignored", event_id=event.provider_event_id))
        failed = PaymentFailedEvent(
            payment_id=payment.id,
            invoice_id=payment.invoice_id,
            user_id=payment.user_id,
            reason=event.failure_message,
        )
        ack = WebhookOutcome(status="recorded", event_id=event.provider_event_id)
        return EventResult(ack, (failed,))
