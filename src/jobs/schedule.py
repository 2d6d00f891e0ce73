"""The periodic work: what is due, how often, and what runs it.

One table serves both ways of running it: the worker's periodic tasks (procrastinate defers
one job per cron tick, once across all workers) and ``flask billing run-due --now T``, which
runs every row synchronously as of ``T``. A row runs one command, or one process (a command,
provider calls with no transaction open, commands).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from src.events.hold_events import ExpiredHoldsReleaseRequestedEvent
from src.events.maintenance_events import RetentionRequestedEvent

if TYPE_CHECKING:  # pragma: no cover - typing only: the container imports the jobs package
    from src.container import Container


@dataclass(frozen=True)
class DueWork:
    """A periodic piece of work: ``run`` does it, as of the instant ``as_of``."""

    name: str
    cron: str
    run: Callable[["Container", datetime], Any]


def _expire(container: "Container", as_of: datetime) -> Any:
    minutes = container.settings().PAYMENT_SESSION_EXPIRY_MINUTES
    return container.expiry_process().run(as_of, minutes)


def _janitor(container: "Container", as_of: datetime) -> Any:
    return container.janitor_process().run(as_of)


def _expire_abandoned_invoices(container: "Container", as_of: datetime) -> Any:
    days = container.settings().INVOICE_EXPIRY_DAYS
    return container.invoice_expiry_process().run(as_of, days)


def _release_expired_holds(container: "Container", as_of: datetime) -> Any:
    return container.dispatcher().emit(ExpiredHoldsReleaseRequestedEvent(as_of=as_of)).data


def _renew_subscriptions(container: "Container", as_of: datetime) -> Any:
    return container.renewal_process().run(as_of)


def _retention(container: "Container", as_of: datetime) -> Any:
    settings = container.settings()
    command = RetentionRequestedEvent(
        as_of=as_of,
        idempotency_key_hours=settings.IDEMPOTENCY_KEY_RETENTION_HOURS,
        webhook_event_days=settings.WEBHOOK_EVENT_RETENTION_DAYS,
    )
    return container.dispatcher().emit(command).data


SCHEDULE: tuple[DueWork, ...] = (
    DueWork(name="payments.expire", cron="* * * * *", run=_expire),
    DueWork(name="payments.janitor", cron="*/5 * * * *", run=_janitor),
    DueWork(name="subscriptions.renew", cron="* * * * *", run=_renew_subscriptions),
    DueWork(name="invoices.expire_abandoned", cron="*/10 * * * *", run=_expire_abandoned_invoices),
    DueWork(name="tokens.release_expired_holds", cron="* * * * *", run=_release_expired_holds),
    DueWork(name="maintenance.retention", cron="17 3 * * *", run=_retention),
)


def run_due(container: "Container", as_of: datetime) -> dict[str, Any]:
    """Run every row once as of ``as_of``; each command commits on its own."""
    return {work.name: work.run(container, as_of) for work in SCHEDULE}
