"""Refunds as provider intents: asked for (``requested``), then what the provider answered.

A refund row is written before the provider is called; its id is the provider's idempotency
key and travels as metadata, so a retry finds the effect instead of making a second one. The
money on the payment moves only when the provider's answer is recorded (PaymentService).
"""

import uuid
from datetime import datetime
from decimal import Decimal

from src.errors import NotFound, Unprocessable
from src.models.payment import Payment, PaymentRefund, RefundStatus
from src.services.grant_reversal_service import ReversalResult
from src.services.ports import PaymentRepositoryPort


class RefundService:
    def __init__(self, payments: PaymentRepositoryPort) -> None:
        self._payments = payments

    # -- the intent --------------------------------------------------------------------------

    def request(
        self,
        payment: Payment,
        amount: Decimal,
        *,
        reason: str | None,
        created_by: uuid.UUID | None,
        idempotency_key: str | None,
        force: bool,
        lease_until: datetime,
    ) -> PaymentRefund:
        """The intent, committed with the command: nothing has moved at the provider yet. The
        request that commits it holds its attempt lease until ``lease_until``."""
        return self._payments.add_refund(
            PaymentRefund(
                id=uuid.uuid4(),
                payment_id=payment.id,
                amount=amount,
                currency=payment.currency,
                reason=reason,
                created_by=created_by,
                status=RefundStatus.REQUESTED,
                idempotency_key=idempotency_key,
                force=force,
                tokens_reversed=0,
                tokens_shortfall=0,
                attempt_lease_until=lease_until,
            )
        )

    # -- the attempt lease -------------------------------------------------------------------

    @staticmethod
    def attempt_leased(refund: PaymentRefund, now: datetime) -> bool:
        """Someone may be asking the provider for this refund right now (``lease_attempt``)."""
        return refund.attempt_lease_until is not None and refund.attempt_lease_until > now

    @staticmethod
    def lease_attempt(refund: PaymentRefund, until: datetime) -> None:
        """The caller (under the refund's row lock) alone may call the provider for this
        refund until ``until``: longer than any request, job or janitor call lives, so a lease
        that ran out means its holder is gone and the refund may be looked for again."""
        refund.attempt_lease_until = until

    @staticmethod
    def release_attempt(refund: PaymentRefund) -> None:
        """The holder's provider call is over (unanswered): the next attempt may go at once."""
        refund.attempt_lease_until = None

    @staticmethod
    def check_replay(refund: PaymentRefund, amount: Decimal | None, force: bool) -> None:
        """A retry under the same Idempotency-Key must ask for the same refund; 422 otherwise.

        No amount means "all that is left", which was this refund's amount when it was asked
        for, so it matches; an amount or a ``force`` that differs does not."""
        if (amount is not None and amount != refund.amount) or force != refund.force:
            raise Unprocessable(
                "This Idempotency-Key was used with a different request.",
                code="idempotency_key_reused",
                details={"refund_id": str(refund.id)},
            )

    # -- the outcome -------------------------------------------------------------------------

    @staticmethod
    def succeed(refund: PaymentRefund, provider_refund_id: str | None, now: datetime) -> None:
        refund.status = RefundStatus.SUCCEEDED
        refund.provider_refund_id = provider_refund_id
        refund.attempt_lease_until = None
        refund.updated_at = now

    @staticmethod
    def fail(refund: PaymentRefund, message: str, now: datetime) -> None:
        refund.status = RefundStatus.FAILED
        refund.failure_message = message[:500]
        refund.attempt_lease_until = None
        refund.updated_at = now

    @staticmethod
    def record_reversal(refund: PaymentRefund, result: ReversalResult) -> None:
        refund.tokens_reversed = result.tokens_reversed
        refund.tokens_shortfall = result.tokens_shortfall

    # -- reads -------------------------------------------------------------------------------

    def get(self, refund_id: uuid.UUID) -> PaymentRefund:
        refund = self._payments.get_refund(refund_id)
        if refund is None:
            raise NotFound("refund")
        return refund

    def get_locked(self, refund_id: uuid.UUID) -> PaymentRefund:
        """The refund, row-locked until commit (after its invoice and payment: capture's
        order), so two reports of one outcome are recorded one after the other."""
        refund = self._payments.get_refund(refund_id, for_update=True)
        if refund is None:
            raise NotFound("refund")
        return refund

    def find_by_key(self, payment_id: uuid.UUID, key: str) -> PaymentRefund | None:
        return self._payments.find_refund_by_key(payment_id, key)

    def find_by_provider_id(self, provider_refund_id: str) -> PaymentRefund | None:
        return self._payments.find_refund(provider_refund_id)

    def reserved(self, payment_id: uuid.UUID) -> Decimal:
        """What refunds waiting for the provider's answer hold of the payment."""
        return self._payments.requested_refund_total(payment_id)

    def waiting(self, created_before: datetime, limit: int) -> list[PaymentRefund]:
        return self._payments.list_requested_refunds(created_before, limit)
