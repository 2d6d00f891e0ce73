"""Invoices as their owner (and admins) see them."""

import uuid
from datetime import datetime

from src.models.invoice import InvoiceStatus, LineItemType
from src.schemas.common import MoneyOut, ResponseModel


class LineItemOut(ResponseModel):
    id: uuid.UUID
    item_type: LineItemType
    item_id: uuid.UUID
    description: str
    quantity: int
    unit_price: MoneyOut
    total_price: MoneyOut


class InvoiceOut(ResponseModel):
    id: uuid.UUID
    number: str
    status: InvoiceStatus
    currency: str
    total_amount: MoneyOut
    created_at: datetime
    paid_at: datetime | None
    line_items: list[LineItemOut]


class AdminInvoiceOut(InvoiceOut):
    """An invoice in the admin view: whose it is and what paid it."""

    user_id: uuid.UUID
    provider: str | None
    payment_reference: str | None
