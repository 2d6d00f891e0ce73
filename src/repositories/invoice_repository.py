"""Invoices, their line items and their numbers."""

import uuid

from sqlalchemy import select, text
from sqlalchemy.orm import joinedload

from datetime import datetime

from src.models.invoice import Invoice, InvoiceKind, InvoiceStatus
from src.pagination import Cursor, PageResult
from src.repositories.base import SessionProxy, get_locked, unique_violations_as_duplicates
from src.repositories.pagination import newest_first_page

INVOICE_NUMBER_SEQUENCE = "invoice_number_seq"


class InvoiceRepository:
    def __init__(self, session: SessionProxy) -> None:
        self._session = session

    def get(self, invoice_id: uuid.UUID, *, for_update: bool = False) -> Invoice | None:
        """Load an invoice; ``for_update`` row-locks it, serialising captures of one invoice.
        The locked load brings the line items in the same statement (a capture reads them
        all; their own "selectin" load was a second round trip)."""
        if for_update:
            return get_locked(self._session, Invoice, invoice_id, joinedload(Invoice.line_items))
        return self._session.get(Invoice, invoice_id)

    def get_for_user(self, invoice_id: uuid.UUID, user_id: uuid.UUID) -> Invoice | None:
        query = select(Invoice).where(Invoice.id == invoice_id, Invoice.user_id == user_id)
        return self._session.scalar(query)

    def list_page(
        self,
        *,
        user_id: uuid.UUID | None,
        status: InvoiceStatus | None,
        limit: int,
        after: Cursor | None,
    ) -> PageResult[Invoice]:
        """Newest first; ``user_id=None`` lists every user's invoices (admin view)."""
        query = select(Invoice)
        if user_id is not None:
            query = query.where(Invoice.user_id == user_id)
        if status is not None:
            query = query.where(Invoice.status == status)
        return newest_first_page(self._session, query, Invoice.created_at, Invoice.id, limit, after)

    def find_renewal(self, subscription_id: uuid.UUID, period_start: datetime) -> Invoice | None:
        query = select(Invoice).where(
            Invoice.kind == InvoiceKind.RENEWAL,
            Invoice.subscription_id == subscription_id,
            Invoice.period_start == period_start,
        )
        return self._session.scalar(query)

    def open_for_subscription(self, subscription_id: uuid.UUID) -> list[Invoice]:
        """The subscription's pending renewal and proration invoices, oldest first."""
        query = (
            select(Invoice)
            .where(
                Invoice.subscription_id == subscription_id,
                Invoice.kind != InvoiceKind.PURCHASE,
                Invoice.status == InvoiceStatus.PENDING,
            )
            .order_by(Invoice.created_at, Invoice.id)
        )
        return list(self._session.scalars(query))

    def abandoned_before(self, created_before: datetime, limit: int) -> list[uuid.UUID]:
        """Pending checkout invoices created at or before ``created_before``, oldest first.

        Only ``kind = purchase``: renewal and proration invoices follow dunning instead. The
        ``(status, created_at)`` index finds them without reading paid history."""
        query = (
            select(Invoice.id)
            .where(
                Invoice.status == InvoiceStatus.PENDING,
                Invoice.kind == InvoiceKind.PURCHASE,
                Invoice.created_at <= created_before,
            )
            .order_by(Invoice.created_at, Invoice.id)
            .limit(limit)
        )
        return list(self._session.scalars(query))

    def next_number(self) -> int:
        """The next invoice number.

        A sequence: no lock, no contention between concurrent checkouts, and a rolled-back
        checkout leaves a gap (numbers are unique and increasing, not gapless).
        """
        value = self._session.scalar(text(f"SELECT nextval('{INVOICE_NUMBER_SEQUENCE}')"))
        return int(value)

    def save(self, invoice: Invoice) -> Invoice:
        """Flush changes now, so a unique violation surfaces here as ``DuplicateRow``."""
        with unique_violations_as_duplicates():
            self._session.flush()
        return invoice

    def add(self, invoice: Invoice) -> Invoice:
        self._session.add(invoice)
        self._session.flush()
        return invoice
