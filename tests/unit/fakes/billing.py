"""Invoices."""

import uuid
from datetime import datetime

from src.models.invoice import Invoice, InvoiceKind, InvoiceStatus
from src.pagination import Cursor, PageResult
from src.repositories.base import DuplicateRow
from tests.unit.fakes.rows import apply_defaults


class FakeInvoiceRepository:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Invoice] = {}
        self.sequence = 0

    def get(self, invoice_id: uuid.UUID, *, for_update: bool = False) -> Invoice | None:
        return self.rows.get(invoice_id)

    def get_for_user(self, invoice_id: uuid.UUID, user_id: uuid.UUID) -> Invoice | None:
        invoice = self.rows.get(invoice_id)
        return invoice if invoice is not None and invoice.user_id == user_id else None

    def list_page(
        self,
        *,
        user_id: uuid.UUID | None,
        status: InvoiceStatus | None,
        limit: int,
        after: Cursor | None,
    ) -> PageResult[Invoice]:
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

    def abandoned_before(self, created_before: datetime, limit: int) -> list[uuid.UUID]:
        rows = sorted(self.rows.values(), key=lambda row: (row.created_at, row.id))
        return [
            row.id
            for row in rows
            if row.status is InvoiceStatus.PENDING
            and row.kind is InvoiceKind.PURCHASE
            and row.created_at <= created_before
        ][:limit]

    def find_renewal(self, subscription_id: uuid.UUID, period_start: datetime) -> Invoice | None:
        return next(
            (
                row
                for row in self.rows.values()
                if row.kind is InvoiceKind.RENEWAL
                and row.subscription_id == subscription_id
                and row.period_start == period_start
            ),
            None,
        )

    def open_for_subscription(self, subscription_id: uuid.UUID) -> list[Invoice]:
        return [
            row
            for row in self.rows.values()
            if row.subscription_id == subscription_id
            and row.kind is not InvoiceKind.PURCHASE
            and row.status is InvoiceStatus.PENDING
        ]

    def next_number(self) -> int:
        self.sequence += 1
        return self.sequence

    def add(self, invoice: Invoice) -> Invoice:
        if any(row.number == invoice.number for row in self.rows.values()):
            raise DuplicateRow("uq_invoices_number")
        apply_defaults(invoice, status=InvoiceStatus.PENDING)
        for line in invoice.line_items:
            apply_defaults(line, invoice_id=invoice.id)
        self.rows[invoice.id] = invoice
        return invoice

    def save(self, invoice: Invoice) -> Invoice:
        """Like the unique (provider, payment_reference): one payment settles one invoice."""
        if invoice.payment_reference is not None and any(
            (row.provider, row.payment_reference) == (invoice.provider, invoice.payment_reference)
            for row in self.rows.values()
            if row.id != invoice.id
        ):
            raise DuplicateRow("uq_invoices_provider_payment_reference")
        return invoice
