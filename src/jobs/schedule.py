"""The periodic work: what is due, how often, and the command that does it.

One table serves both ways of running it: the worker's periodic tasks (procrastinate defers
one job per cron tick, once across all workers) and ``flask billing run-due --now T``, which
emits every command synchronously as of ``T``. Later lifecycle work adds a row here.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from src.config import Settings
from src.events.base import Command
from src.events.dispatcher import EventDispatcher
from src.events.maintenance_events import RetentionRequestedEvent
from src.events.payment_events import PaymentsExpiryRequestedEvent


@dataclass(frozen=True)
class DueWork:
    """A periodic command: ``build`` makes it for the instant ``as_of``."""

    name: str
    cron: str
    build: Callable[[Settings, datetime], Command[Any]]


SCHEDULE: tuple[DueWork, ...] = (
    DueWork(
        name="payments.expire",
        cron="* * * * *",
        build=lambda settings, as_of: PaymentsExpiryRequestedEvent(
            older_than_minutes=settings.PAYMENT_SESSION_EXPIRY_MINUTES, as_of=as_of
        ),
    ),
    DueWork(
        name="maintenance.retention",
        cron="17 3 * * *",
        build=lambda settings, as_of: RetentionRequestedEvent(
            as_of=as_of,
            idempotency_key_hours=settings.IDEMPOTENCY_KEY_RETENTION_HOURS,
            webhook_event_days=settings.WEBHOOK_EVENT_RETENTION_DAYS,
        ),
    ),
)


def run_due(dispatcher: EventDispatcher, settings: Settings, as_of: datetime) -> dict[str, Any]:
    """Emit every periodic command once as of ``as_of``; each commits on its own."""
    return {work.name: dispatcher.emit(work.build(settings, as_of)).data for work in SCHEDULE}


def due_work(name: str) -> DueWork:
    return next(work for work in SCHEDULE if work.name == name)
