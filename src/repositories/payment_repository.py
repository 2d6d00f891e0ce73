"""Payment records, their status history and refunds."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, or_, select

from src.clock import utc_now

from src.models.payment import (
    OFF_SESSION,
    OPEN_PAYMENT_STATUSES,
    Payment,
    PaymentRefund,
    PaymentStatus,
    PaymentStatusChange,
    RefundStatus,
)
from src.pagination import Cursor, PageResult
from src.repositories.base import SessionProxy, get_locked, unique_violations_as_duplicates
from src.repositories.pagination import newest_first_page


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    paid: Decimal
    refunded: Decimal
    latest: datetime | None


class PaymentRepository:
    def __init__(self, session: SessionProxy) -> None:
        self._session = session

    def add(self, payment: Payment) -> Payment:
        self._session.add(payment)
        self._session.flush()
        return payment

    def get(self, payment_id: uuid.UUID, *, for_update: bool = False) -> Payment | None:
        if for_update:
            return get_locked(self._session, Payment, payment_id)
        return self._session.get(Payment, payment_id)

    def list_for_invoice(self, invoice_id: uuid.UUID) -> list[Payment]:
        query = select(Payment).where(Payment.invoice_id == invoice_id).order_by(Payment.created_at)
        return list(self._session.scalars(query))

    def find_open(self, invoice_id: uuid.UUID, provider: str) -> Payment | None:
        """The newest pending or processing payment of an invoice through ``provider``."""
        query = (
            select(Payment)
            .where(
                Payment.invoice_id == invoice_id,
                Payment.provider == provider,
                Payment.status.in_(OPEN_PAYMENT_STATUSES),
            )
            .order_by(Payment.created_at.desc())
            .limit(1)
        )
        return self._session.scalar(query)

    def find_open_auto_reload(self, user_id: uuid.UUID) -> Payment | None:
        """The user's auto-reload payment in flight (at most one: a unique partial index)."""
        query = select(Payment).where(
            Payment.user_id == user_id,
            Payment.method == OFF_SESSION,
            Payment.status.in_(OPEN_PAYMENT_STATUSES),
        )
        return self._session.scalar(query)

    def find_by_provider_ids(
        self, provider: str, payment_intent_id: str | None, charge_id: str | None
    ) -> Payment | None:
        conditions = []
        if payment_intent_id:
            conditions.append(Payment.provider_payment_intent_id == payment_intent_id)
        if charge_id:
            conditions.append(Payment.provider_charge_id == charge_id)
        if not conditions:
            return None
        query = (
            select(Payment)
            .where(Payment.provider == provider, or_(*conditions))
            .order_by(Payment.created_at.desc())
            .limit(1)
        )
        return self._session.scalar(query)

    def list_stale(self, created_before: datetime, limit: int) -> list[Payment]:
        """Pending payments started before ``created_before`` (oldest first), locked, skipping
        rows another worker holds, so two expiry runs never fight over one payment."""
        query = (
            select(Payment)
            .where(Payment.status == PaymentStatus.PENDING, Payment.created_at < created_before)
            .order_by(Payment.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(self._session.scalars(query))

    def list_open_before(
        self, created_before: datetime, statuses: Sequence[PaymentStatus], limit: int
    ) -> list[Payment]:
        """Payments in ``statuses`` created before ``created_before``, oldest first, leaving
        out those a request is starting right now (its start lease runs). No lock: the caller
        asks the provider next, with no transaction open."""
        lease_free = or_(Payment.start_lease_until.is_(None), Payment.start_lease_until < utc_now())
        query = (
            select(Payment)
            .where(
                Payment.status.in_(list(statuses)),
                Payment.created_at < created_before,
                lease_free,
            )
            .order_by(Payment.created_at)
            .limit(limit)
        )
        return list(self._session.scalars(query))

    def find_by_reference(self, provider: str, reference: str) -> Payment | None:
        """The newest payment a provider's reference names (its repeated confirmations)."""
        query = (
            select(Payment)
            .where(Payment.provider == provider, Payment.provider_reference == reference)
            .order_by(Payment.created_at.desc())
            .limit(1)
        )
        return self._session.scalar(query)

    def list_page(
        self,
        user_id: uuid.UUID | None,
        status: PaymentStatus | None,
        limit: int,
        after: Cursor | None,
    ) -> PageResult[Payment]:
        """``user_id`` None: every user's (the admin view)."""
        query = select(Payment)
        if user_id is not None:
            query = query.where(Payment.user_id == user_id)
        if status is not None:
            query = query.where(Payment.status == status)
        return newest_first_page(self._session, query, Payment.created_at, Payment.id, limit, after)

    def count_by_status(self, user_id: uuid.UUID) -> dict[PaymentStatus, int]:
        query = (
            select(Payment.status, func.count())
            .where(Payment.user_id == user_id)
            .group_by(Payment.status)
        )
        return {status: int(count) for status, count in self._session.execute(query)}

    def totals_by_currency(self, user_id: uuid.UUID) -> list[CurrencyTotal]:
        """What the user paid (completed or refunded since) per currency, newest first."""
        settled = (
            PaymentStatus.COMPLETED,
            PaymentStatus.PARTIALLY_REFUNDED,
            PaymentStatus.REFUNDED,
        )
        query = (
            select(
                Payment.currency,
                func.sum(Payment.amount),
                func.sum(Payment.refunded_amount),
                func.max(Payment.completed_at),
            )
            .where(Payment.user_id == user_id, Payment.status.in_(settled))
            .group_by(Payment.currency)
            .order_by(func.max(Payment.completed_at).desc())
        )
        return [
            CurrencyTotal(currency=row[0], paid=row[1], refunded=row[2], latest=row[3])
            for row in self._session.execute(query)
        ]

    def add_status_change(self, change: PaymentStatusChange) -> PaymentStatusChange:
        self._session.add(change)
        return change

    def history(self, payment_id: uuid.UUID) -> list[PaymentStatusChange]:
        query = (
            select(PaymentStatusChange)
            .where(PaymentStatusChange.payment_id == payment_id)
            .order_by(PaymentStatusChange.created_at, PaymentStatusChange.id)
        )
        return list(self._session.scalars(query))

    def add_refund(self, refund: PaymentRefund) -> PaymentRefund:
        with unique_violations_as_duplicates():
            self._session.add(refund)
            self._session.flush()
        return refund

    def list_refunds(self, payment_id: uuid.UUID) -> list[PaymentRefund]:
        query = (
            select(PaymentRefund)
            .where(PaymentRefund.payment_id == payment_id)
            .order_by(PaymentRefund.created_at)
        )
        return list(self._session.scalars(query))

    def find_refund(self, provider_refund_id: str) -> PaymentRefund | None:
        query = select(PaymentRefund).where(PaymentRefund.provider_refund_id == provider_refund_id)
        return self._session.scalar(query)

    def get_refund(self, refund_id: uuid.UUID, *, for_update: bool = False) -> PaymentRefund | None:
        if for_update:
            return get_locked(self._session, PaymentRefund, refund_id)
        return self._session.get(PaymentRefund, refund_id)

    def find_refund_by_key(self, payment_id: uuid.UUID, key: str) -> PaymentRefund | None:
        """The refund an admin asked for with this Idempotency-Key (unique per payment)."""
        query = select(PaymentRefund).where(
            PaymentRefund.payment_id == payment_id, PaymentRefund.idempotency_key == key
        )
        return self._session.scalar(query)

    def requested_refund_total(self, payment_id: uuid.UUID) -> Decimal:
        """What refunds still waiting for the provider's answer hold of this payment."""
        query = select(func.coalesce(func.sum(PaymentRefund.amount), 0)).where(
            PaymentRefund.payment_id == payment_id,
            PaymentRefund.status == RefundStatus.REQUESTED,
        )
        return Decimal(self._session.scalar(query) or 0)

    def list_requested_refunds(self, created_before: datetime, limit: int) -> list[PaymentRefund]:
        """Refunds still ``requested`` that were asked for before ``created_before``, oldest
        first (no lock: the janitor asks the provider next, with no transaction open)."""
        query = (
            select(PaymentRefund)
            .where(
                PaymentRefund.status == RefundStatus.REQUESTED,
                PaymentRefund.created_at < created_before,
            )
            .order_by(PaymentRefund.created_at)
            .limit(limit)
        )
        return list(self._session.scalars(query))
