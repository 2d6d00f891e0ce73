"""Payments resolved from the provider's own state: expiry, the janitor, recovery.

A process reads which payments to look at, asks the provider with no transaction open
(fetching, and cancelling what must expire), then reports what it saw in one command.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from src.events.base import Command
from src.models.payment import PaymentStatus
from src.providers.base import ExistingPayment, RemotePayment

Resolution = Literal[
    "captured",
    "failed",
    "cancelled",
    "expired",
    "processing",
    "open",
    "unchanged",
    "requires_refund",  # confirmed, but the invoice could not take it (refunded, not granted)
]


@dataclass(frozen=True)
class OpenPayment:
    """What a process needs to ask the provider about one payment."""

    payment_id: uuid.UUID
    provider: str
    existing: ExistingPayment


@dataclass(frozen=True, kw_only=True)
class OpenPaymentsListedEvent(Command[list[OpenPayment]]):
    """Command (reads only): payments in ``statuses`` created before ``created_before``."""

    name = "payments.open_listed"
    created_before: datetime
    statuses: tuple[PaymentStatus, ...]
    limit: int = 500


@dataclass(frozen=True, kw_only=True)
class PaymentResolutionReportedEvent(Command[Resolution]):
    """Command: what the provider says of ``payment_id`` now. ``stopped_at_provider``: the
    process cancelled it there because it expired, so an open payment becomes expired."""

    name = "payment.resolution_reported"
    payment_id: uuid.UUID
    remote: RemotePayment
    stopped_at_provider: bool = False
    source: str = "janitor"
