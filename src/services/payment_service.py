"""Payment records: their lifecycle, status history, refunds and the audit of every attempt.

Every status change goes through ``move``, which refuses a transition the state machine in
``models.payment`` does not allow and appends one history row per change.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from src.clock import utc_now
from src.errors import InvalidState, NotFound
from src.models.invoice import Invoice
from src.models.payment import (
    ALLOWED_TRANSITIONS,
    Payment,
    PaymentRefund,
    PaymentStatus,
    PaymentStatusChange,
    RefundStatus,
)
from src.pagination import Cursor, PageResult
from src.providers.base import ExistingPayment, ObservedRefund, StartedPayment
from src.repositories.base import DuplicateRow
from src.services.ports import PaymentRepositoryPort

ZERO = Decimal("0.00")


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


@dataclass(frozen=True)
class PaymentStats:
    currency: str | None
    total_spent: Decimal
    completed_payments: int
    failed_payments: int
    other_currencies: list[tuple[str, Decimal]]


def existing(payment: Payment) -> ExistingPayment:
    """The ids a provider needs to find a payment again."""
    return ExistingPayment(
        payment_id=payment.id,
        payment_intent_id=payment.provider_payment_intent_id,
        session_id=payment.provider_session_id,
    )


class PaymentService:
    def __init__(self, payments: PaymentRepositoryPort) -> None:
        self._payments = payments

    # -- the state machine ---------------------------------------------------------------

    def move(
        self,
        payment: Payment,
        to: PaymentStatus,
        reason: str | None = None,
        provider_event_id: str | None = None,
    ) -> None:
        """Apply an allowed transition and record it; any other is 409
        ``payment_transition_not_allowed`` (callers that branch ask ``can_move`` first)."""
        if not self.can_move(payment, to):
            raise InvalidState(
                f"A {payment.status.value} payment cannot become {to.value}.",
                code="payment_transition_not_allowed",
                details={"from": payment.status.value, "to": to.value},
            )
        self._history(payment, payment.status, to, reason, provider_event_id)
        payment.status = to

    @staticmethod
    def can_move(payment: Payment, to: PaymentStatus) -> bool:
        """Whether the state machine allows ``payment`` to become ``to`` now."""
        return to in ALLOWED_TRANSITIONS[payment.status]

    def _history(
        self,
        payment: Payment,
        before: PaymentStatus | None,
        after: PaymentStatus,
        reason: str | None,
        provider_event_id: str | None = None,
    ) -> None:
        self._payments.add_status_change(
            PaymentStatusChange(
                payment_id=payment.id,
                from_status=before.value if before else None,
                to_status=after.value,
                reason=reason[:500] if reason else None,
                provider_event_id=provider_event_id,
            )
        )

    def _add(self, payment: Payment, reason: str) -> Payment:
        self._payments.add(payment)
        self._history(payment, None, payment.status, reason)
        return payment

    # -- starting ----------------------------------------------------------------------------

    def open(
        self, invoice: Invoice, provider: str, method: str, expires_at: datetime | None
    ) -> Payment:
        """A PENDING payment of the whole invoice, before the provider is asked."""
        return self._add(
            Payment(
                invoice_id=invoice.id,
                user_id=invoice.user_id,
                provider=provider,
                method=method,
                amount=invoice.total_amount,
                currency=invoice.currency,
                status=PaymentStatus.PENDING,
                expires_at=expires_at,
            ),
            reason="payment started",
        )

    @staticmethod
    def attach(payment: Payment, started: StartedPayment) -> None:
        """Record the provider's ids; the first recorded are kept (a retry, a concurrent
        request or a lookup may report the same payment again) and the start lease ends."""
        payment.provider_payment_intent_id = (
            payment.provider_payment_intent_id or started.payment_intent_id
        )
        payment.provider_session_id = payment.provider_session_id or started.session_id
        payment.provider_reference = payment.provider_reference or (
            started.payment_intent_id or started.provider_payment_id
        )
        payment.start_lease_until = None

    @staticmethod
    def start_leased(payment: Payment, now: datetime) -> bool:
        """Someone may be creating this payment at its provider right now (see ``lease_start``)."""
        return payment.start_lease_until is not None and payment.start_lease_until > now

    @staticmethod
    def lease_start(payment: Payment, until: datetime) -> None:
        """The caller (under the invoice's or the payment's row lock) alone may call the
        provider to create this payment until ``until``: longer than any request lives, so a
        lease that ran out means its holder is gone and the payment can be looked for."""
        payment.start_lease_until = until

    @staticmethod
    def release_start(payment: Payment) -> None:
        """The holder's provider call is over (it failed): the next request may try at once."""
        payment.start_lease_until = None

    def find_open(self, invoice_id: uuid.UUID, provider: str) -> Payment | None:
        return self._payments.find_open(invoice_id, provider)

    def open_auto_reload(self, user_id: uuid.UUID) -> Payment | None:
        return self._payments.find_open_auto_reload(user_id)

    def open_payments(self, invoice_id: uuid.UUID) -> list[Payment]:
        open_statuses = (PaymentStatus.PENDING, PaymentStatus.PROCESSING)
        return [p for p in self._payments.list_for_invoice(invoice_id) if p.status in open_statuses]

    # -- capture, failure and expiry -----------------------------------------------------------

    def complete(
        self,
        invoice: Invoice,
        claim: PaymentClaim,
        payment_id: uuid.UUID | None = None,
        payment_intent_id: str | None = None,
        charge_id: str | None = None,
    ) -> Payment:
        """Mark the payment that paid ``invoice`` completed: the one we started (by id, or the
        open one of this provider), else a new record (a payment we did not start, e.g. an
        admin's bank transfer)."""
        payment = self._started_payment(invoice, claim.provider, payment_id)
        now = utc_now()
        if payment is not None and self.can_move(payment, PaymentStatus.COMPLETED):
            self.move(payment, PaymentStatus.COMPLETED, "captured")
            payment.provider_reference = claim.reference
            payment.provider_payment_intent_id = (
                payment.provider_payment_intent_id or payment_intent_id
            )
            payment.provider_charge_id = charge_id or payment.provider_charge_id
            payment.payload_digest = claim.payload_digest
            payment.recorded_by = claim.recorded_by
            payment.note = claim.note
            payment.completed_at = now
            return payment
        record = self._record(invoice, claim, PaymentStatus.COMPLETED)
        record.provider_payment_intent_id = payment_intent_id
        record.provider_charge_id = charge_id
        record.completed_at = now
        return self._add(record, reason="captured")

    def _started_payment(
        self, invoice: Invoice, provider: str, payment_id: uuid.UUID | None
    ) -> Payment | None:
        if payment_id is not None:
            payment = self._payments.get(payment_id, for_update=True)
            if payment is not None and payment.invoice_id == invoice.id:
                return payment
        open_payment = self._payments.find_open(invoice.id, provider)
        return self._payments.get(open_payment.id, for_update=True) if open_payment else None

    def record_failed(
        self, invoice: Invoice | None, claim: PaymentClaim, error_code: str, error_message: str
    ) -> Payment:
        """Keep a refused or broken attempt (``invoice`` None: it named no invoice of ours),
        once per provider payment: a repeated delivery of it finds the row kept before."""
        kept = self._payments.find_by_reference(claim.provider, claim.reference)
        invoice_id = invoice.id if invoice else None
        if kept is not None and (kept.status, kept.invoice_id) == (
            PaymentStatus.FAILED,
            invoice_id,
        ):
            return kept
        payment = self._record(invoice, claim, PaymentStatus.FAILED)
        payment.error_code = error_code
        payment.error_message = error_message[:500]
        return self._add(payment, reason=error_code)

    def require_refund(
        self,
        invoice: Invoice,
        claim: PaymentClaim,
        code: str,
        message: str,
        payment_id: uuid.UUID | None = None,
        payment_intent_id: str | None = None,
        charge_id: str | None = None,
    ) -> tuple[Payment, bool]:
        """Money the provider confirmed that ``invoice`` cannot take: the payment (the one we
        started, found by our id or the provider's ids or reference, else a new row) becomes
        ``requires_refund`` with ``code`` in its history. One row per provider payment:
        ``False`` when it was recorded before (a repeated delivery), nothing is added then."""
        payment = self._provider_payment(claim, payment_id, payment_intent_id, charge_id)
        if payment is not None and not self.can_move(payment, PaymentStatus.REQUIRES_REFUND):
            return payment, False  # already requires_refund, refunded, or the one that paid
        if payment is None:
            payment = self._record(invoice, claim, PaymentStatus.REQUIRES_REFUND)
            self._add(payment, reason=code)
        else:
            self.move(payment, PaymentStatus.REQUIRES_REFUND, code)
            payment.provider_reference = payment.provider_reference or claim.reference
            payment.payload_digest = payment.payload_digest or claim.payload_digest
        payment.provider_payment_intent_id = payment.provider_payment_intent_id or payment_intent_id
        payment.provider_charge_id = payment.provider_charge_id or charge_id
        payment.error_code = code[:64]
        payment.error_message = message[:500]
        return payment, True

    def _provider_payment(
        self,
        claim: PaymentClaim,
        payment_id: uuid.UUID | None,
        payment_intent_id: str | None,
        charge_id: str | None,
    ) -> Payment | None:
        """The payment (locked) a provider's confirmation is about, if we have it."""
        found = self.find_for_provider_event(
            claim.provider, payment_id, payment_intent_id, charge_id
        )
        if found is not None:
            return found
        kept = self._payments.find_by_reference(claim.provider, claim.reference)
        return self._payments.get(kept.id, for_update=True) if kept else None

    def fail(
        self, payment: Payment, code: str | None, message: str | None, provider_event_id: str
    ) -> bool:
        """The provider says this attempt failed; ``False`` (ignored, explicitly) when the
        payment is already past it (a late failure after a completion never moves it back)."""
        if not self.can_move(payment, PaymentStatus.FAILED):
            return False
        self.move(payment, PaymentStatus.FAILED, message or code, provider_event_id)
        payment.error_code = (code or "payment_failed")[:64]
        payment.error_message = (message or "The payment failed.")[:500]
        return True

    def list_open_before(
        self, created_before: datetime, statuses: Sequence[PaymentStatus], limit: int
    ) -> list[Payment]:
        return self._payments.list_open_before(created_before, statuses, limit)

    def expire_stale(self, created_before: datetime, limit: int) -> list[Payment]:
        stale = [
            payment
            for payment in self._payments.list_stale(created_before, limit)
            if self.can_move(payment, PaymentStatus.EXPIRED)
        ]
        for payment in stale:
            self.move(payment, PaymentStatus.EXPIRED, "checkout not finished")
        return stale

    @staticmethod
    def _record(invoice: Invoice | None, claim: PaymentClaim, status: PaymentStatus) -> Payment:
        return Payment(
            invoice_id=invoice.id if invoice else None,
            user_id=invoice.user_id if invoice else None,
            provider=claim.provider,
            provider_reference=claim.reference,
            amount=claim.amount,
            currency=claim.currency,
            status=status,
            payload_digest=claim.payload_digest,
            recorded_by=claim.recorded_by,
            note=claim.note,
        )

    # -- refunds -----------------------------------------------------------------------------

    def refundable(
        self, payment: Payment, amount: Decimal | None, reserved: Decimal = ZERO
    ) -> Decimal:
        """The amount to refund (default: all that is left); 409 if nothing can be refunded.

        ``reserved`` is what refunds still waiting for the provider hold: counted as gone, so
        two requests never refund more than was paid."""
        refundable = (
            PaymentStatus.COMPLETED,
            PaymentStatus.PARTIALLY_REFUNDED,
            PaymentStatus.REQUIRES_REFUND,
        )
        if payment.status not in refundable:
            raise InvalidState(
                f"A {payment.status.value} payment cannot be refunded.",
                code="payment_not_refundable",
            )
        remaining = payment.amount - payment.refunded_amount - reserved
        wanted = remaining if amount is None else amount
        if payment.status is PaymentStatus.REQUIRES_REFUND and wanted != remaining:
            raise InvalidState(
                "A payment that was never applied is refunded in full.",
                code="refund_must_be_full",
                details={"refundable": str(remaining), "currency": payment.currency},
            )
        if wanted <= ZERO or wanted > remaining:
            raise InvalidState(
                f"At most {remaining} {payment.currency} of this payment can be refunded.",
                code="refund_exceeds_payment",
                details={"refundable": str(remaining), "currency": payment.currency},
            )
        return wanted

    def record_refund(
        self,
        payment: Payment,
        amount: Decimal,
        provider_refund_id: str | None,
        reason: str | None,
        created_by: uuid.UUID | None,
        tokens_reversed: int = 0,
        tokens_shortfall: int = 0,
        provider_event_id: str | None = None,
        refund_id: uuid.UUID | None = None,
    ) -> PaymentRefund:
        refund = self._payments.add_refund(
            PaymentRefund(
                id=refund_id or uuid.uuid4(),
                payment_id=payment.id,
                amount=amount,
                currency=payment.currency,
                provider_refund_id=provider_refund_id,
                reason=reason,
                created_by=created_by,
                tokens_reversed=tokens_reversed,
                tokens_shortfall=tokens_shortfall,
            )
        )
        self._settle_refunded(payment, payment.refunded_amount + amount, provider_event_id)
        return refund

    def observe_refunds(
        self,
        payment: Payment,
        refunds: Sequence[ObservedRefund],
        refunded_total: Decimal | None,
        provider_event_id: str,
    ) -> int:
        """Record refunds made at the provider (e.g. in its dashboard) that we did not make.

        A refund of ours still ``requested`` (the provider's report overtook our record of
        its answer) is left to that record: neither added as a row nor counted in the total,
        so the money is counted once. While one is in flight the reported total is taken as
        including it (a refund made elsewhere meanwhile is counted by the next report)."""
        recorded = 0
        for observed in refunds:
            if self._payments.find_refund(observed.refund_id) is not None:
                continue
            ours = self._payments.get_refund(observed.intent_id) if observed.intent_id else None
            if ours is not None and ours.payment_id == payment.id:
                if ours.status is not RefundStatus.FAILED:
                    continue
            try:
                self._payments.add_refund(
                    PaymentRefund(
                        payment_id=payment.id,
                        amount=observed.amount,
                        currency=payment.currency,
                        provider_refund_id=observed.refund_id,
                        reason="refunded at the provider",
                    )
                )
            except DuplicateRow:
                continue
            recorded += 1
        reported = (refunded_total or ZERO) - self._payments.requested_refund_total(payment.id)
        total = max(payment.refunded_amount, min(reported, payment.amount))
        self._settle_refunded(payment, total, provider_event_id)
        return recorded

    def settle_refund(self, payment: Payment, amount: Decimal) -> None:
        """A refund of ours came back from the provider: the payment's total and status move
        (never past the amount paid: a report counted first is not counted again)."""
        self._settle_refunded(payment, min(payment.refunded_amount + amount, payment.amount), None)

    def _settle_refunded(
        self, payment: Payment, refunded_total: Decimal, provider_event_id: str | None
    ) -> None:
        if refunded_total <= payment.refunded_amount:
            return
        payment.refunded_amount = refunded_total
        target = (
            PaymentStatus.REFUNDED
            if refunded_total >= payment.amount
            else PaymentStatus.PARTIALLY_REFUNDED
        )
        if self.can_move(payment, target):  # a partial refund of an unapplied payment:
            # the total is kept, the status waits for the rest (never partially_refunded)
            self.move(
                payment, target, f"refunded {refunded_total} {payment.currency}", provider_event_id
            )

    # -- reads -------------------------------------------------------------------------------

    def get(self, payment_id: uuid.UUID) -> Payment:
        payment = self._payments.get(payment_id)
        if payment is None:
            raise NotFound("payment")
        return payment

    def get_locked(self, payment_id: uuid.UUID) -> Payment:
        payment = self._payments.get(payment_id, for_update=True)
        if payment is None:
            raise NotFound("payment")
        return payment

    def get_for_user(self, payment_id: uuid.UUID, user_id: uuid.UUID) -> Payment:
        payment = self._payments.get(payment_id)
        if payment is None or payment.user_id != user_id:
            raise NotFound("payment")
        return payment

    def find_for_provider_event(
        self,
        provider: str,
        payment_id: uuid.UUID | None,
        payment_intent_id: str | None,
        charge_id: str | None,
        lock: bool = True,
    ) -> Payment | None:
        """The payment a provider event is about (locked unless ``lock`` is False, for a
        caller that locks its invoice first): by our id from its metadata, else by the
        provider's own ids."""
        if payment_id is not None:
            payment = self._payments.get(payment_id, for_update=lock)
            if payment is not None and payment.provider == provider:
                return payment
        found = self._payments.find_by_provider_ids(provider, payment_intent_id, charge_id)
        return self._payments.get(found.id, for_update=lock) if found else None

    def history(self, payment_id: uuid.UUID) -> list[PaymentStatusChange]:
        return self._payments.history(payment_id)

    def refunds(self, payment_id: uuid.UUID) -> list[PaymentRefund]:
        return self._payments.list_refunds(payment_id)

    def list_all(
        self, status: PaymentStatus | None, limit: int, after: Cursor | None
    ) -> PageResult[Payment]:
        """Every user's payments (the admin view), newest first."""
        return self._payments.list_page(None, status, limit, after)

    def list_for_user(
        self, user_id: uuid.UUID, status: PaymentStatus | None, limit: int, after: Cursor | None
    ) -> PageResult[Payment]:
        return self._payments.list_page(user_id, status, limit, after)

    def stats(self, user_id: uuid.UUID) -> PaymentStats:
        """Net spending (paid minus refunded) in the currency of the latest payment."""
        counts = self._payments.count_by_status(user_id)
        totals = self._payments.totals_by_currency(user_id)
        completed = sum(
            counts.get(status, 0)
            for status in (
                PaymentStatus.COMPLETED,
                PaymentStatus.PARTIALLY_REFUNDED,
                PaymentStatus.REFUNDED,
            )
        )
        nets = [(total.currency, total.paid - total.refunded) for total in totals]
        return PaymentStats(
            currency=nets[0][0] if nets else None,
            total_spent=nets[0][1] if nets else ZERO,
            completed_payments=completed,
            failed_payments=counts.get(PaymentStatus.FAILED, 0),
            other_currencies=nets[1:],
        )
