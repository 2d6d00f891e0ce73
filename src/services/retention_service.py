"""Retention: what the service keeps, and for how long."""

from datetime import datetime, timedelta
from typing import Protocol

from src.events.maintenance_events import RetentionOutcome

# One command deletes at most this many rows of each kind, so the daily run never holds a
# long transaction; a backlog is worked off over the following runs.
BATCH_LIMIT = 10_000


class RetentionRepositoryPort(Protocol):
    def delete_idempotency_keys_before(self, cutoff: datetime, limit: int) -> int: ...

    def delete_webhook_events_before(self, cutoff: datetime, limit: int) -> int: ...


class RetentionService:
    def __init__(self, records: RetentionRepositoryPort) -> None:
        self._records = records

    def purge(
        self, as_of: datetime, idempotency_key_hours: int, webhook_event_days: int
    ) -> RetentionOutcome:
        return RetentionOutcome(
            idempotency_keys=self._records.delete_idempotency_keys_before(
                as_of - timedelta(hours=idempotency_key_hours), BATCH_LIMIT
            ),
            webhook_events=self._records.delete_webhook_events_before(
                as_of - timedelta(days=webhook_event_days), BATCH_LIMIT
            ),
        )
