"""payment.refund_requested (admin) → the provider refunds; a full refund takes back the grants."""

import uuid

from src.clock import utc_now
from src.events.base import EventResult, IEventHandler
from src.events.payment_events import PaymentRefundedEvent, RefundRequestedEvent
from src.events.payment_results import RefundOutcome
from src.models.invoice import InvoiceStatus
from src.models.payment import PaymentStatus
from src.providers.base import PaymentProviders
from src.services.grant_reversal_service import GrantReversalService, ReversalResult
from src.services.invoice_service import InvoiceService
from src.services.payment_service import PaymentService, existing


class RefundPaymentHandler(IEventHandler[RefundRequestedEvent, RefundOutcome]):
    """Every check runs before the provider is asked to move money, and every row that the
    refund touches is locked in the same order as capture (invoice, then payment, then
    balance). If the provider refuses, nothing is written."""

    def __init__(
        self,
        payment_service: PaymentService,
        invoice_service: InvoiceService,
        grant_reversal_service: GrantReversalService,
        payment_providers: PaymentProviders,
    ) -> None:
        self._payments = payment_service
        self._invoices = invoice_service
        self._reversal = grant_reversal_service
        self._providers = payment_providers

    def handle(self, event: RefundRequestedEvent) -> EventResult[RefundOutcome]:
        invoice_id = self._payments.get(event.payment_id).invoice_id
        invoice = self._invoices.get_for_capture(invoice_id) if invoice_id else None
        payment = self._payments.get_locked(event.payment_id)
        amount = self._payments.refundable(payment, event.amount)
        full = payment.refunded_amount + amount == payment.amount
        plan = None
        if full and invoice is not None and invoice.status is InvoiceStatus.PAID:
            plan = self._reversal.plan(invoice, event.force)

        refund_id = uuid.uuid4()
        provider_refund = self._providers.get(payment.provider).refund(
            existing(payment), amount, refund_key=f"refund-{refund_id}"
        )
        result = ReversalResult(0, 0)
        if plan is not None and invoice is not None:
            result = self._reversal.apply(invoice, plan, utc_now())
            self._invoices.mark_refunded(invoice)
        self._payments.record_refund(
            payment,
            amount,
            provider_refund.refund_id,
            event.reason,
            event.admin_id,
            tokens_reversed=result.tokens_reversed,
            tokens_shortfall=result.tokens_shortfall,
            refund_id=refund_id,
        )
        outcome = RefundOutcome(
            payment_id=payment.id,
            refund_id=refund_id,
            amount=amount,
            currency=payment.currency,
            payment_status=payment.status,
            refunded_amount=payment.refunded_amount,
            invoice_status=invoice.status.value if invoice else "unknown",
            tokens_reversed=result.tokens_reversed,
            tokens_shortfall=result.tokens_shortfall,
        )
        refunded = PaymentRefundedEvent(
            payment_id=payment.id,
            invoice_id=invoice_id,
            amount=amount,
            currency=payment.currency,
            full=payment.status is PaymentStatus.REFUNDED,
        )
        return EventResult(outcome, (refunded,))
