"""Invoice lifecycle commands besides payment."""

import uuid
from dataclasses import dataclass

from src.events.base import Command, Notification
from src.events.invoice_results import InvoiceSnapshot
from src.events.payment_start_events import PaymentToStop


@dataclass(frozen=True)
class InvoiceCancelPlan:
    """Either the cancelled invoice (``snapshot``), or the open payments to stop at their
    provider first (``to_stop``), or ``refused``: one is already in the provider's hands."""

    snapshot: InvoiceSnapshot | None = None
    to_stop: tuple[PaymentToStop, ...] = ()
    refused: bool = False


@dataclass(frozen=True, kw_only=True)
class InvoiceCancellationRequestedEvent(Command[InvoiceCancelPlan]):
    """Command: the owner abandons a pending invoice and everything it would have granted.

    Run by src/intents/invoice_cancel.py: the invoice is cancelled only once none of its
    payments is open; ``stopped`` are the payments the process has just cancelled at their
    provider (with no transaction open), recorded CANCELLED here."""

    name = "invoice.cancellation_requested"
    user_id: uuid.UUID
    invoice_id: uuid.UUID
    stopped: tuple[uuid.UUID, ...] = ()


@dataclass(frozen=True, kw_only=True)
class InvoiceCancelledEvent(Notification):
    name = "invoice.cancelled"
    invoice_id: uuid.UUID
    user_id: uuid.UUID
