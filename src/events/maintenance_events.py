"""Housekeeping commands from the schedule (retention)."""

from dataclasses import dataclass, field
from datetime import datetime

from src.clock import utc_now
from src.events.base import Command


@dataclass(frozen=True)
class RetentionOutcome:
    """How many rows each kind of record lost."""

    idempotency_keys: int
    webhook_events: int


@dataclass(frozen=True, kw_only=True)
class RetentionRequestedEvent(Command[RetentionOutcome]):
    """Command: delete idempotency keys and processed webhook events past their window.

    An idempotency key older than Stripe's 24-hour window no longer replays (a retry after
    that is a new request); a webhook event older than the provider's redelivery window can
    no longer arrive again, so its row protects nothing.
    """

    name = "maintenance.retention_requested"
    as_of: datetime = field(default_factory=utc_now)
    idempotency_key_hours: int
    webhook_event_days: int
