"""Money a provider confirmed that its invoice cannot take (already paid by another payment,
cancelled, expired, an activation rule that fails, an amount or currency that differs).

It is never refused: the payment is kept once per provider payment as ``requires_refund``
with the reason's stable code, nothing is granted, ``payment.requires_refund`` is published
and, in the same transaction, the ``payment.refund_unapplied`` job is deferred to refund it
in full through the provider. With ``AUTO_REFUND_UNAPPLIED=false``, or for a provider we
cannot refund through (the generic webhook's, manual), it waits for an admin.
"""

import logging
import uuid

from src.errors import ApiError
from src.events.base import Notification
from src.events.payment_events import PaymentRequiresRefundEvent
from src.events.payment_results import CaptureOutcome
from src.jobs.names import REFUND_UNAPPLIED_TASK
from src.models.invoice import Invoice
from src.models.payment import Payment
from src.providers.base import PaymentProviders
from src.services.payment_service import PaymentClaim, PaymentService
from src.services.ports import JobQueuePort

logger = logging.getLogger(__name__)
# Providers whose refunds are made by hand, outside the system: an admin records them.
NOT_REFUNDABLE = frozenset({"manual"})


def unapplied_refund_key(payment_id: uuid.UUID) -> str:
    """The idempotency key of the one full refund of an unapplied payment."""
    return f"unapplied-{payment_id}"


class UnappliedPaymentService:
    def __init__(
        self,
        payment_service: PaymentService,
        job_queue: JobQueuePort,
        payment_providers: PaymentProviders,
        auto_refund: bool,
    ) -> None:
        self._payments = payment_service
        self._jobs = job_queue
        self._providers = payment_providers
        self._auto_refund = auto_refund

    def refundable_by_provider(self, provider: str) -> bool:
        return provider in self._providers.names() and provider not in NOT_REFUNDABLE

    def record(
        self,
        invoice: Invoice,
        claim: PaymentClaim,
        refusal: ApiError,
        payment_id: uuid.UUID | None = None,
        payment_intent_id: str | None = None,
        charge_id: str | None = None,
    ) -> tuple[CaptureOutcome, list[Notification]]:
        """Keep the refused confirmation (a repeated delivery adds nothing) and answer it."""
        auto = self._auto_refund and self.refundable_by_provider(claim.provider)
        then = "it will be refunded" if auto else "it waits for an admin to refund it"
        message = f"{refusal.message} Nothing was granted; {then}."
        payment, recorded = self._payments.require_refund(
            invoice, claim, refusal.code, message, payment_id, payment_intent_id, charge_id
        )
        if not recorded and payment.error_code is None:
            # The provider payment was applied (to another invoice, or this one under
            # another reference): one payment is applied once and never refunded for this.
            applied = CaptureOutcome(
                "already_processed",
                invoice.id,
                0,
                reason=refusal.code,
                message=f"{refusal.message} Nothing was granted; it paid what it paid before.",
                payment_id=payment.id,
            )
            return applied, []
        if not recorded:
            return self._outcome(invoice, payment, refusal.code), []
        logger.warning(
            "confirmed payment %s not applied to invoice %s (%s): requires_refund",
            payment.id,
            invoice.id,
            refusal.code,
        )
        if auto:
            self._jobs.enqueue(
                REFUND_UNAPPLIED_TASK,
                queueing_lock=unapplied_refund_key(payment.id),
                payment_id=payment.id,
            )
        notification = PaymentRequiresRefundEvent(
            payment_id=payment.id,
            invoice_id=payment.invoice_id,
            user_id=payment.user_id,
            provider=payment.provider,
            amount=payment.amount,
            currency=payment.currency,
            reason=refusal.code,
            auto_refund=auto,
        )
        return self._outcome(invoice, payment, refusal.code), [notification]

    @staticmethod
    def _outcome(invoice: Invoice, payment: Payment, code: str) -> CaptureOutcome:
        return CaptureOutcome(
            "requires_refund",
            invoice.id,
            0,
            reason=payment.error_code or code,
            message=payment.error_message,
            payment_id=payment.id,
        )
