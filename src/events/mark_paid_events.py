"""An admin's manual settlement (``POST /admin/invoices/<id>/mark-paid``) around the invoice's
open provider payments (src/intents/mark_paid.py)."""

import uuid
from dataclasses import dataclass

from src.events.base import Command
from src.events.payment_start_events import PaymentToStop


@dataclass(frozen=True)
class MarkPaidPlan:
    """``to_stop``: the invoice's open provider payments (none: settle it now);
    ``in_progress``: one of them is already in the provider's hands (PROCESSING)."""

    to_stop: tuple[PaymentToStop, ...] = ()
    in_progress: bool = False


@dataclass(frozen=True, kw_only=True)
class MarkPaidCheckRequestedEvent(Command[MarkPaidPlan]):
    """Command: under the invoice's row lock, record ``stopped`` (the payments the process
    has just cancelled at their provider) CANCELLED, and answer those still open."""

    name = "invoice.mark_paid_checked"
    invoice_id: uuid.UUID
    stopped: tuple[uuid.UUID, ...] = ()
