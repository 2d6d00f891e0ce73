"""What a provider reports about money going back: a refund made in its dashboard, a
chargeback opened or closed. Each is processed once per provider event (the
``webhook_events`` row) and once per refund or dispute (the payment's state).

Rows are locked in capture's order: the invoice, then the payment, then the balance.
A full refund made at the provider takes the grants back as an admin refund does (with
``force``: the money is already gone, so tokens spent are the shortfall); a partial one is
only recorded. A dispute takes the grants back at once and a dispute won gives them back
(src/services/dispute_service.py says why at once rather than a freeze).
"""

import logging

from src.clock import utc_now
from src.events.base import EventResult, IEventHandler, Notification
from src.events.dispute_events import DisputeClosedEvent, DisputeOpenedEvent
from src.events.payment_events import PaymentRefundedEvent, RefundReportedEvent
from src.events.payment_results import WebhookOutcome, WebhookStatus
from src.models.invoice import Invoice, InvoiceStatus
from src.models.payment import Payment, PaymentStatus
from src.services.dispute_service import DisputeService
from src.services.grant_reversal_service import GrantReversalService
from src.services.invoice_service import InvoiceService
from src.services.payment_service import PaymentService
from src.services.refund_service import RefundService
from src.services.webhook_event_service import WebhookEventService

logger = logging.getLogger(__name__)
# Closed disputes whose money stays with the merchant (an inquiry closes as warning_closed).
DISPUTE_WON = ("won", "warning_closed")
DISPUTE_LOST = "lost"
APPLIED = (PaymentStatus.COMPLETED, PaymentStatus.PARTIALLY_REFUNDED)


class _ProviderReportHandler:
    def __init__(
        self,
        payment_service: PaymentService,
        invoice_service: InvoiceService,
        webhook_event_service: WebhookEventService,
    ) -> None:
        self._payments = payment_service
        self._invoices = invoice_service
        self._events = webhook_event_service

    def _locked(
        self, provider: str, payment_intent_id: str | None, charge_id: str | None
    ) -> tuple[Payment | None, Invoice | None]:
        """The payment the report is about and its invoice, locked invoice first."""
        found = self._payments.find_for_provider_event(
            provider, None, payment_intent_id, charge_id, lock=False
        )
        if found is None:
            return None, None
        invoice = self._invoices.get_for_capture(found.invoice_id) if found.invoice_id else None
        return self._payments.get_locked(found.id), invoice


def _ack(status: WebhookStatus, event_id: str) -> WebhookOutcome:
    return WebhookOutcome(status=status, event_id=event_id)


class ProviderRefundReportedHandler(
    _ProviderReportHandler, IEventHandler[RefundReportedEvent, WebhookOutcome]
):
    """Refunds the provider holds (read from its API by src/intents/provider_reports.py) are
    recorded once by their refund id; ours (metadata ``refund_id``) are left to our own
    record. When that completes the payment, the grants are taken back."""

    def __init__(
        self,
        payment_service: PaymentService,
        invoice_service: InvoiceService,
        webhook_event_service: WebhookEventService,
        grant_reversal_service: GrantReversalService,
    ) -> None:
        super().__init__(payment_service, invoice_service, webhook_event_service)
        self._reversal = grant_reversal_service

    def handle(self, event: RefundReportedEvent) -> EventResult[WebhookOutcome]:
        if not self._events.first_delivery(
            event.provider, event.provider_event_id, event.provider_event_type
        ):
            return EventResult(_ack("already_processed", event.provider_event_id))
        payment, invoice = self._locked(event.provider, event.payment_intent_id, event.charge_id)
        if payment is None:
            return EventResult(_ack("ignored", event.provider_event_id))
        known = {refund.id for refund in self._payments.refunds(payment.id)}
        # Only money that was applied granted anything (not requires_refund, whose invoice
        # may be paid by another payment; not disputed, whose grants are already taken).
        applied = payment.status in APPLIED
        recorded = self._payments.observe_refunds(
            payment, event.refunds, event.refunded_total, event.provider_event_id
        )
        notifications: tuple[Notification, ...] = ()
        if recorded:
            full = payment.status is PaymentStatus.REFUNDED
            if full and applied and invoice is not None and invoice.status is InvoiceStatus.PAID:
                now = utc_now()
                result = self._reversal.apply(
                    invoice, self._reversal.plan(invoice, force=True), now
                )
                new = [r for r in self._payments.refunds(payment.id) if r.id not in known]
                if new:
                    RefundService.record_reversal(new[-1], result)
                self._invoices.mark_refunded(invoice)
                logger.info(
                    "refund at the provider completed payment %s: grants taken back", payment.id
                )
            notifications = (
                PaymentRefundedEvent(
                    payment_id=payment.id,
                    invoice_id=payment.invoice_id,
                    amount=payment.refunded_amount,
                    currency=payment.currency,
                    full=full,
                ),
            )
        return EventResult(_ack("recorded", event.provider_event_id), notifications)


class DisputeOpenedHandler(
    _ProviderReportHandler, IEventHandler[DisputeOpenedEvent, WebhookOutcome]
):
    """A completed (or partly refunded) payment becomes ``disputed`` and its grants are
    taken back at once; the invoice is ``refunded`` while the dispute lasts. A second report
    of the dispute finds the payment disputed and changes nothing."""

    def __init__(
        self,
        payment_service: PaymentService,
        invoice_service: InvoiceService,
        webhook_event_service: WebhookEventService,
        dispute_service: DisputeService,
    ) -> None:
        super().__init__(payment_service, invoice_service, webhook_event_service)
        self._disputes = dispute_service

    def handle(self, event: DisputeOpenedEvent) -> EventResult[WebhookOutcome]:
        if not self._events.first_delivery(
            event.provider, event.provider_event_id, event.provider_event_type
        ):
            return EventResult(_ack("already_processed", event.provider_event_id))
        payment, invoice = self._locked(event.provider, event.payment_intent_id, event.charge_id)
        if payment is None or not self._payments.can_move(payment, PaymentStatus.DISPUTED):
            logger.info("dispute %s ignored (unknown payment or not disputable)", event.dispute_id)
            return EventResult(_ack("ignored", event.provider_event_id))
        self._payments.move(
            payment,
            PaymentStatus.DISPUTED,
            f"dispute {event.dispute_id} opened",
            event.provider_event_id,
        )
        if invoice is not None and invoice.status is InvoiceStatus.PAID:
            result = self._disputes.reverse(invoice, utc_now())
            self._invoices.mark_refunded(invoice)
            logger.warning(
                "dispute %s on payment %s: %d tokens taken back (%d short)",
                event.dispute_id,
                payment.id,
                result.tokens_reversed,
                result.tokens_shortfall,
            )
        return EventResult(_ack("recorded", event.provider_event_id))


class DisputeClosedHandler(
    _ProviderReportHandler, IEventHandler[DisputeClosedEvent, WebhookOutcome]
):
    """Won → the payment is ``completed`` again, the invoice ``paid`` and the grants given
    back (new ledger entries); lost → the payment is ``refunded`` (a refund row under the
    dispute's id records the money gone) and the grants stay taken back. Only a ``disputed``
    payment moves, so a second report of the close changes nothing."""

    def __init__(
        self,
        payment_service: PaymentService,
        invoice_service: InvoiceService,
        webhook_event_service: WebhookEventService,
        dispute_service: DisputeService,
    ) -> None:
        super().__init__(payment_service, invoice_service, webhook_event_service)
        self._disputes = dispute_service

    def handle(self, event: DisputeClosedEvent) -> EventResult[WebhookOutcome]:
        if not self._events.first_delivery(
            event.provider, event.provider_event_id, event.provider_event_type
        ):
            return EventResult(_ack("already_processed", event.provider_event_id))
        payment, invoice = self._locked(event.provider, event.payment_intent_id, event.charge_id)
        if payment is None or payment.status is not PaymentStatus.DISPUTED:
            return EventResult(_ack("ignored", event.provider_event_id))
        if event.outcome in DISPUTE_WON:
            return self._won(event, payment, invoice)
        if event.outcome == DISPUTE_LOST:
            return self._lost(event, payment, invoice)
        logger.info("dispute %s closed as %s: ignored", event.dispute_id, event.outcome)
        return EventResult(_ack("ignored", event.provider_event_id))

    def _won(
        self, event: DisputeClosedEvent, payment: Payment, invoice: Invoice | None
    ) -> EventResult[WebhookOutcome]:
        self._payments.move(
            payment,
            PaymentStatus.COMPLETED,
            f"dispute {event.dispute_id} won",
            event.provider_event_id,
        )
        if invoice is not None and invoice.status is InvoiceStatus.REFUNDED:
            restored = self._disputes.restore(invoice, utc_now())
            invoice.status = InvoiceStatus.PAID
            logger.info(
                "dispute %s won: %d tokens given back", event.dispute_id, restored.tokens_restored
            )
        return EventResult(_ack("recorded", event.provider_event_id))

    def _lost(
        self, event: DisputeClosedEvent, payment: Payment, invoice: Invoice | None
    ) -> EventResult[WebhookOutcome]:
        gone = payment.amount - payment.refunded_amount
        if gone > 0:
            refund = self._payments.record_refund(
                payment,
                gone,
                provider_refund_id=event.dispute_id,
                reason=f"dispute {event.dispute_id} lost",
                created_by=None,
                provider_event_id=event.provider_event_id,
            )
            if invoice is not None:
                refund.tokens_reversed = self._disputes.tokens_taken(invoice)
        else:
            self._payments.move(
                payment,
                PaymentStatus.REFUNDED,
                f"dispute {event.dispute_id} lost",
                event.provider_event_id,
            )
        refunded = PaymentRefundedEvent(
            payment_id=payment.id,
            invoice_id=payment.invoice_id,
            amount=gone,
            currency=payment.currency,
            full=True,
        )
        return EventResult(_ack("recorded", event.provider_event_id), (refunded,))
