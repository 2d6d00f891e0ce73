"""Expiry of abandoned checkouts: the commands of src/intents/invoice_expiry.py and the fact
it publishes.

A pending checkout invoice older than ``INVOICE_EXPIRY_DAYS`` expires with what it would have
bought, once none of its payments can still complete at a provider. Renewal and proration
invoices never expire this way: dunning owns them.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from src.events.base import Command, Notification
from src.events.payment_start_events import PaymentToStop

# expired: done now; skipped: nothing to do (paid, cancelled, expired meanwhile, or not old
# enough as of ``as_of``); in_progress: a payment is in the provider's hands, so the invoice
# stays pending; stop: ``to_stop`` must be cancelled at their provider first.
ExpiryOutcome = Literal["expired", "skipped", "in_progress", "stop"]

# How many invoices one run looks at: a run stays short, the next tick takes the rest.
EXPIRY_BATCH = 200


@dataclass(frozen=True)
class InvoiceExpiryPlan:
    """What the expiry command did, or (``stop``) which open payments to stop first."""

    outcome: ExpiryOutcome
    to_stop: tuple[PaymentToStop, ...] = ()


@dataclass(frozen=True, kw_only=True)
class AbandonedInvoicesListedEvent(Command[list[uuid.UUID]]):
    """Command (reads only): pending checkout invoices created at or before
    ``created_before``, oldest first, at most ``limit``."""

    name = "invoices.abandoned_listed"
    created_before: datetime
    limit: int = EXPIRY_BATCH


@dataclass(frozen=True, kw_only=True)
class InvoiceExpiryRequestedEvent(Command[InvoiceExpiryPlan]):
    """Command: expire ``invoice_id`` as of ``as_of`` if it is still a pending checkout
    invoice at least ``days`` old.

    ``stopped`` are the payments the process has just cancelled at their provider (with no
    transaction open), recorded CANCELLED here; the invoice expires only once none is open.
    """

    name = "invoice.expiry_requested"
    invoice_id: uuid.UUID
    as_of: datetime
    days: int
    stopped: tuple[uuid.UUID, ...] = ()


@dataclass(frozen=True, kw_only=True)
class InvoiceExpiredEvent(Notification):
    """An abandoned checkout expired: its subscription and add-ons expired, its token
    purchases were cancelled, and the plan slot it held is free again."""

    name = "invoice.expired"
    invoice_id: uuid.UUID
    user_id: uuid.UUID
