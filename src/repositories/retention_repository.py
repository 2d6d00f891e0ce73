"""Deleting records whose window has passed, in bounded batches (one indexed range each)."""

from datetime import datetime

from sqlalchemy import delete, select

from src.models.idempotency_key import IdempotencyKey
from src.models.payment import WebhookEvent
from src.repositories.base import SessionProxy


class RetentionRepository:
    def __init__(self, session: SessionProxy) -> None:
        self._session = session

    def delete_idempotency_keys_before(self, cutoff: datetime, limit: int) -> int:
        oldest = (
            select(IdempotencyKey.id)
            .where(IdempotencyKey.created_at < cutoff)
            .order_by(IdempotencyKey.created_at)
            .limit(limit)
        )
        result = self._session.execute(delete(IdempotencyKey).where(IdempotencyKey.id.in_(oldest)))
        return int(result.rowcount)  # type: ignore[attr-defined]

    def delete_webhook_events_before(self, cutoff: datetime, limit: int) -> int:
        oldest = (
            select(WebhookEvent.id)
            .where(WebhookEvent.received_at < cutoff)
            .order_by(WebhookEvent.received_at)
            .limit(limit)
        )
        result = self._session.execute(delete(WebhookEvent).where(WebhookEvent.id.in_(oldest)))
        return int(result.rowcount)  # type: ignore[attr-defined]
