"""What invoice commands answer: an invoice as it stood when its command ran.

A snapshot, not the ORM row, so it stays true after the commit expires the row and can be
stored for an idempotent replay (checkout keeps one).
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from src.models.invoice import Invoice, InvoiceKind, InvoiceLineItem, InvoiceStatus, LineItemType


@dataclass(frozen=True)
class LineItemSnapshot:
    """Prices are in the invoice's currency."""

    id: uuid.UUID
    item_type: LineItemType
    item_id: uuid.UUID
    description: str
    quantity: int
    unit_price: Decimal
    total_price: Decimal

    @classmethod
    def of(cls, line: InvoiceLineItem) -> "LineItemSnapshot":
        return cls(
            id=line.id,
            item_type=line.item_type,
            item_id=line.item_id,
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            total_price=line.total_price,
        )


@dataclass(frozen=True)
class InvoiceSnapshot:
    id: uuid.UUID
    number: str
    status: InvoiceStatus
    currency: str
    total_amount: Decimal
    created_at: datetime
    paid_at: datetime | None
    line_items: tuple[LineItemSnapshot, ...]
    kind: InvoiceKind = InvoiceKind.PURCHASE
    subscription_id: uuid.UUID | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None

    @classmethod
    def of(cls, invoice: Invoice) -> "InvoiceSnapshot":
        return cls(
            id=invoice.id,
            number=invoice.number,
            status=invoice.status,
            currency=invoice.currency,
            total_amount=invoice.total_amount,
            created_at=invoice.created_at,
            paid_at=invoice.paid_at,
            line_items=tuple(LineItemSnapshot.of(line) for line in invoice.line_items),
            kind=invoice.kind,
            subscription_id=invoice.subscription_id,
            period_start=invoice.period_start,
            period_end=invoice.period_end,
        )
