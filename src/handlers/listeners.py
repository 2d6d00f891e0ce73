"""Notification listeners. They run after commit; the dispatcher isolates their failures."""

import dataclasses
import logging

from src.events.base import IEventListener, Notification

logger = logging.getLogger("billing.events")


class AuditLogListener(IEventListener):
    """Writes every published fact to the ``billing.events`` log, one structured line each."""

    def notify(self, event: Notification) -> None:
        fields = {
            key: str(value)
            for key, value in dataclasses.asdict(event).items()
            if key not in ("event_id", "occurred_at")
        }
        logger.info("%s %s", event.name, fields, extra={"event_id": str(event.event_id)})
