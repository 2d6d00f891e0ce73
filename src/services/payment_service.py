"""Payment records: the audit trail of every attempt to pay an invoice."""

import uuid
from dataclasses import dataclass
from decimal import Decimal

from src.clock import utc_now
from src.models.invoice import Invoice
from src.models.payment import Payment, PaymentStatus
from src.services.ports import PaymentRepositoryPort


@dataclass(frozen=True)
class PaymentClaim:
    """What a provider (or an admin) said about a payment."""

    provider: str
    reference: str
    amount: Decimal
    currency: str
    payload_digest: str | None = None
    recorded_by: uuid.UUID | None = None
    note: str | None = None


class PaymentService:
    def __init__(self, payments: PaymentRepositoryPort) -> None:
        self._payments = payments

    def record_completed(self, invoice: Invoice, claim: PaymentClaim) -> Payment:
        now = utc_now()
        return self._payments.add(
            self._payment(
                invoice.id, invoice.user_id, claim, PaymentStatus.COMPLETED, completed_at=now
            )
        )

    def record_failed(
        self,
        invoice: Invoice | None,
        claim: PaymentClaim,
        error_code: str,
        error_message: str,
    ) -> Payment:
        """Keep a refused or broken attempt (``invoice`` None: it named no invoice of ours)."""
        payment = self._payment(
            invoice.id if invoice else None,
            invoice.user_id if invoice else None,
            claim,
            PaymentStatus.FAILED,
        )
        payment.error_code = error_code
        payment.error_message = error_message[:500]
        return self._payments.add(payment)

    @staticmethod
    def _payment(
        invoice_id: uuid.UUID | None,
        user_id: uuid.UUID | None,
        claim: PaymentClaim,
        status: PaymentStatus,
        completed_at: object = None,
    ) -> Payment:
        return Payment(
            invoice_id=invoice_id,
            user_id=user_id,
            provider=claim.provider,
            provider_reference=claim.reference,
            amount=claim.amount,
            currency=claim.currency,
            status=status,
            payload_digest=claim.payload_digest,
            recorded_by=claim.recorded_by,
            note=claim.note,
            completed_at=completed_at,
        )
