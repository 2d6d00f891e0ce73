"""Payments with their status history and refunds, and the provider events already processed.

Newest/oldest orderings follow ``created_at`` as the SQL does; rows created in the same
microsecond keep their insertion order (a stable sort), where SQL would fall back to the id.
"""

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from decimal import Decimal

from src.clock import utc_now
from src.repositories.bundle_capture_repository import (
    NOTHING_DONE,
    BundleCapture,
    BundleCaptureRequest,
)
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
from src.repositories.base import DuplicateRow
from src.repositories.payment_repository import CurrencyTotal
from tests.unit.fakes.rows import CheckViolation, apply_defaults

SETTLED_STATUSES = (
    PaymentStatus.COMPLETED,
    PaymentStatus.PARTIALLY_REFUNDED,
    PaymentStatus.REFUNDED,
)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _oldest_first(rows: Iterable[Payment]) -> list[Payment]:
    return sorted(rows, key=lambda row: row.created_at)


class FakePaymentRepository:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Payment] = {}
        self.changes: list[PaymentStatusChange] = []
        self.refunds: list[PaymentRefund] = []
        self.locked: list[uuid.UUID] = []  # ids read with for_update, in order
        self.locked_refunds: list[uuid.UUID] = []

    def add(self, payment: Payment) -> Payment:
        apply_defaults(payment, refunded_amount=Decimal("0.00"))
        if payment.id in self.rows:
            raise DuplicateRow("pk_payments")
        self.rows[payment.id] = payment
        return payment

    def get(self, payment_id: uuid.UUID, *, for_update: bool = False) -> Payment | None:
        payment = self.rows.get(payment_id)
        if payment is not None and for_update:
            self.locked.append(payment_id)
        return payment

    def list_for_invoice(self, invoice_id: uuid.UUID) -> list[Payment]:
        return _oldest_first(row for row in self.rows.values() if row.invoice_id == invoice_id)

    def find_open(self, invoice_id: uuid.UUID, provider: str) -> Payment | None:
        """The newest pending or processing payment of an invoice through ``provider``."""
        rows = _oldest_first(
            row
            for row in self.rows.values()
            if (row.invoice_id, row.provider) == (invoice_id, provider)
            and row.status in OPEN_PAYMENT_STATUSES
        )
        return rows[-1] if rows else None

    def find_open_auto_reload(self, user_id: uuid.UUID) -> Payment | None:
        rows = [
            row
            for row in self.rows.values()
            if row.user_id == user_id
            and row.method == OFF_SESSION
            and row.status in OPEN_PAYMENT_STATUSES
        ]
        return rows[0] if rows else None

    def find_by_provider_ids(
        self, provider: str, payment_intent_id: str | None, charge_id: str | None
    ) -> Payment | None:
        if not payment_intent_id and not charge_id:
            return None
        rows = _oldest_first(
            row
            for row in self.rows.values()
            if row.provider == provider
            and (
                (payment_intent_id and row.provider_payment_intent_id == payment_intent_id)
                or (charge_id and row.provider_charge_id == charge_id)
            )
        )
        return rows[-1] if rows else None

    def list_stale(self, created_before: datetime, limit: int) -> list[Payment]:
        """Pending payments created before ``created_before``, oldest first."""
        stale = (
            row
            for row in self.rows.values()
            if row.status is PaymentStatus.PENDING and row.created_at < created_before
        )
        return _oldest_first(stale)[:limit]

    def list_open_before(
        self, created_before: datetime, statuses: Sequence[PaymentStatus], limit: int
    ) -> list[Payment]:
        rows = (
            row
            for row in self.rows.values()
            if row.status in statuses
            and row.created_at < created_before
            and (row.start_lease_until is None or row.start_lease_until < utc_now())
        )
        return _oldest_first(rows)[:limit]

    def find_by_reference(self, provider: str, reference: str) -> Payment | None:
        rows = _oldest_first(
            row
            for row in self.rows.values()
            if (row.provider, row.provider_reference) == (provider, reference)
        )
        return rows[-1] if rows else None

    def list_page(
        self,
        user_id: uuid.UUID | None,
        status: PaymentStatus | None,
        limit: int,
        after: Cursor | None,
    ) -> PageResult[Payment]:
        rows = sorted(self.rows.values(), key=lambda row: (row.created_at, row.id), reverse=True)
        rows = [
            row
            for row in rows
            if (user_id is None or row.user_id == user_id)
            and (status is None or row.status == status)
            and (after is None or (row.created_at, row.id) < (after.created_at, after.id))
        ]
        if len(rows) <= limit:
            return PageResult(items=rows, next_cursor=None)
        last = rows[limit - 1]
        return PageResult(rows[:limit], Cursor(created_at=last.created_at, id=last.id))

    def count_by_status(self, user_id: uuid.UUID) -> dict[PaymentStatus, int]:
        return dict(Counter(row.status for row in self.rows.values() if row.user_id == user_id))

    def totals_by_currency(self, user_id: uuid.UUID) -> list[CurrencyTotal]:
        """Settled payments per currency, newest ``completed_at`` first (NULL first, as
        PostgreSQL sorts NULLs in a descending order)."""
        by_currency: dict[str, list[Payment]] = {}
        for row in self.rows.values():
            if row.user_id == user_id and row.status in SETTLED_STATUSES:
                by_currency.setdefault(row.currency, []).append(row)
        totals = []
        for currency, rows in by_currency.items():
            times = [row.completed_at for row in rows if row.completed_at is not None]
            totals.append(
                CurrencyTotal(
                    currency=currency,
                    paid=sum((row.amount for row in rows), Decimal("0.00")),
                    refunded=sum((row.refunded_amount for row in rows), Decimal("0.00")),
                    latest=max(times) if times else None,
                )
            )
        return sorted(
            totals, key=lambda total: (total.latest is None, total.latest or EPOCH), reverse=True
        )

    def add_status_change(self, change: PaymentStatusChange) -> PaymentStatusChange:
        self._require_payment(change.payment_id)
        apply_defaults(change)
        self.changes.append(change)
        return change

    def history(self, payment_id: uuid.UUID) -> list[PaymentStatusChange]:
        return [change for change in self.changes if change.payment_id == payment_id]

    def add_refund(self, refund: PaymentRefund) -> PaymentRefund:
        """Like uq (provider_refund_id), where a NULL never collides, and CHECK amount > 0."""
        self._require_payment(refund.payment_id)
        if refund.amount <= 0:
            raise CheckViolation(f"refund amount {refund.amount}")
        if refund.provider_refund_id is not None and self.find_refund(refund.provider_refund_id):
            raise DuplicateRow("uq_payment_refunds_provider_refund_id")
        if refund.idempotency_key is not None and self.find_refund_by_key(
            refund.payment_id, refund.idempotency_key
        ):
            raise DuplicateRow("uq_payment_refunds_payment_id_idempotency_key")
        apply_defaults(
            refund,
            tokens_reversed=0,
            tokens_shortfall=0,
            status=RefundStatus.SUCCEEDED,
            force=False,
        )
        self.refunds.append(refund)
        return refund

    def find_refund(self, provider_refund_id: str) -> PaymentRefund | None:
        return next((r for r in self.refunds if r.provider_refund_id == provider_refund_id), None)

    def get_refund(self, refund_id: uuid.UUID, *, for_update: bool = False) -> PaymentRefund | None:
        refund = next((r for r in self.refunds if r.id == refund_id), None)
        if refund is not None and for_update:
            self.locked_refunds.append(refund_id)
        return refund

    def find_refund_by_key(self, payment_id: uuid.UUID, key: str) -> PaymentRefund | None:
        return next(
            (r for r in self.refunds if r.payment_id == payment_id and r.idempotency_key == key),
            None,
        )

    def requested_refund_total(self, payment_id: uuid.UUID) -> Decimal:
        return sum(
            (
                r.amount
                for r in self.refunds
                if r.payment_id == payment_id and r.status is RefundStatus.REQUESTED
            ),
            Decimal("0.00"),
        )

    def list_requested_refunds(self, created_before: datetime, limit: int) -> list[PaymentRefund]:
        waiting = [
            r
            for r in self.refunds
            if r.status is RefundStatus.REQUESTED and r.created_at < created_before
        ]
        return sorted(waiting, key=lambda r: r.created_at)[:limit]

    def list_refunds(self, payment_id: uuid.UUID) -> list[PaymentRefund]:
        return [refund for refund in self.refunds if refund.payment_id == payment_id]

    def violations(self) -> list[str]:
        """The payment rows a flush would refuse now (the table's CHECK constraints)."""
        return [
            f"payment {row.id}: amount={row.amount} refunded={row.refunded_amount} "
            f"currency={row.currency!r}"
            for row in self.rows.values()
            if row.amount < 0
            or not Decimal("0.00") <= row.refunded_amount <= row.amount
            or len(row.currency) != 3
        ]

    def _require_payment(self, payment_id: uuid.UUID) -> None:
        if payment_id not in self.rows:
            raise CheckViolation(f"no payment {payment_id} (foreign key)")


class FakeWebhookEventRepository:
    """Like uq (provider, event_id); there is no rollback to undo a row (the dispatcher's job)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], str] = {}

    def record_first_delivery(self, provider: str, event_id: str, event_type: str) -> bool:
        if (provider, event_id) in self.rows:
            return False
        self.rows[(provider, event_id)] = event_type
        return True


class FakeBundleCaptures:
    """The one-statement capture is SQL (tests/integration/test_bundle_capture_statement.py
    runs it); here it always leaves the capture to the full path, which these tests drive."""

    def __init__(self) -> None:
        self.requests: list[BundleCaptureRequest] = []

    def settle(self, request: BundleCaptureRequest) -> BundleCapture:
        self.requests.append(request)
        return NOTHING_DONE
