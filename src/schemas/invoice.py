"""Invoices as their owner (and admins) see them."""

import uuid
from datetime import datetime

from src.events.invoice_results import InvoiceSnapshot, LineItemSnapshot
from src.models.invoice import InvoiceKind, InvoiceStatus, LineItemType
from src.schemas.common import MoneyOut, ResponseModel


class LineItemOut(ResponseModel):
    id: uuid.UUID
    item_type: LineItemType
    item_id: uuid.UUID
    description: str
    quantity: int
    unit_price: MoneyOut
    total_price: MoneyOut

    @classmethod
    def from_result(cls, line: LineItemSnapshot) -> "LineItemOut":
        return cls(
            id=line.id,
            item_type=line.item_type,
            item_id=line.item_id,
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            total_price=line.total_price,
        )


class InvoiceOut(ResponseModel):
    id: uuid.UUID
    number: str
    status: InvoiceStatus
    currency: str
    total_amount: MoneyOut
    created_at: datetime
    paid_at: datetime | None
    line_items: list[LineItemOut]
    # ``purchase`` (a checkout), ``renewal`` (a subscription's next period) or ``proration``
    # (an upgrade within a period); the last two name their subscription and period.
    kind: InvoiceKind = InvoiceKind.PURCHASE
    subscription_id: uuid.UUID | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None

    @classmethod
    def from_result(cls, invoice: InvoiceSnapshot) -> "InvoiceOut":
        return cls(
            id=invoice.id,
            number=invoice.number,
            status=invoice.status,
            currency=invoice.currency,
            total_amount=invoice.total_amount,
            created_at=invoice.created_at,
            paid_at=invoice.paid_at,
            line_items=[LineItemOut.from_result(line) for line in invoice.line_items],
            kind=invoice.kind,
            subscription_id=invoice.subscription_id,
            period_start=invoice.period_start,
            period_end=invoice.period_end,
        )


class AdminInvoiceOut(InvoiceOut):
    """An invoice in the admin view: whose it is and what paid it."""

    user_id: uuid.UUID
    provider: str | None
    payment_reference: str | None
