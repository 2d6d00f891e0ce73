"""maintenance.retention_requested → old idempotency keys and webhook events are deleted."""

from src.events.base import EventResult, IEventHandler
from src.events.maintenance_events import RetentionOutcome, RetentionRequestedEvent
from src.services.retention_service import RetentionService


class RetentionHandler(IEventHandler[RetentionRequestedEvent, RetentionOutcome]):
    def __init__(self, retention_service: RetentionService) -> None:
        self._retention = retention_service

    def handle(self, event: RetentionRequestedEvent) -> EventResult[RetentionOutcome]:
        outcome = self._retention.purge(
            event.as_of, event.idempotency_key_hours, event.webhook_event_days
        )
        return EventResult(outcome)
