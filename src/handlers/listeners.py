"""Notification listeners. They run after commit; the dispatcher isolates their failures."""

import dataclasses
import logging
from collections.abc import Callable

from src.events.base import IEventListener, Notification
from src.events.dispatcher import EventDispatcher
from src.events.payment_events import PaymentFailedEvent
from src.events.token_events import AutoReloadPaymentFailedEvent

logger = logging.getLogger("billing.events")
# Personal data never goes to the log; the user id beside it says who it was.
PERSONAL_FIELDS = frozenset({"email"})


class AuditLogListener(IEventListener):
    """Writes every published fact to the ``billing.events`` log, one structured line each."""

    def notify(self, event: Notification) -> None:
        if not logger.isEnabledFor(logging.INFO):
            return
        fields = {
            key: str(value)
            for key, value in _field_values(event)
            if key not in ("event_id", "occurred_at") and key not in PERSONAL_FIELDS
        }
        logger.info("%s %s", event.name, fields, extra={"event_id": str(event.event_id)})


def _field_values(event: Notification) -> list[tuple[str, object]]:
    """The event's fields as ``dataclasses.asdict`` shows them, without its deep copy of
    every value (most of the listener's cost on a consume) when all are plain values."""
    values = [(field.name, getattr(event, field.name)) for field in dataclasses.fields(event)]
    if any(
        isinstance(value, (list, tuple, dict)) or dataclasses.is_dataclass(value)
        for _, value in values
    ):
        return list(dataclasses.asdict(event).items())
    return values


class AutoReloadListener(IEventListener):
    """Hands a payment failure reported later (a webhook) to the reload bookkeeping. Reloads
    themselves are jobs that the consume defers in its own transaction (jobs/tasks.py)."""

    def __init__(self, dispatcher_factory: Callable[[], EventDispatcher]) -> None:
        self._dispatcher_factory = dispatcher_factory

    def notify(self, event: Notification) -> None:
        if isinstance(event, PaymentFailedEvent):
            if event.user_id is not None and event.invoice_id is not None:
                self._dispatcher_factory().emit(
                    AutoReloadPaymentFailedEvent(
                        user_id=event.user_id, invoice_id=event.invoice_id, reason=event.reason
                    )
                )
            return
