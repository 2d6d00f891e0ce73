"""Invoice lifecycle commands besides payment."""

import uuid
from dataclasses import dataclass

from src.events.base import Command, Notification
from src.events.invoice_results import InvoiceSnapshot


@dataclass(frozen=True, kw_only=True)
class InvoiceCancellationRequestedEvent(Command[InvoiceSnapshot]):
    """Command: the owner abandons a pending invoice and everything it would have granted."""

    name = "invoice.cancellation_requested"
    user_id: uuid.UUID
    invoice_id: uuid.UUID


@dataclass(frozen=True, kw_only=True)
class InvoiceCancelledEvent(Notification):
    name = "invoice.cancelled"
    invoice_id: uuid.UUID
    user_id: uuid.UUID
