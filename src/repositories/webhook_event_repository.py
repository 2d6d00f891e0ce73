"""Provider events already processed (idempotency for webhooks, in the database)."""

from src.models.payment import WebhookEvent
from src.repositories.base import SessionProxy, insert_unless_duplicate


class WebhookEventRepository:
    def __init__(self, session: SessionProxy) -> None:
        self._session = session

    def record_first_delivery(self, provider: str, event_id: str, event_type: str) -> bool:
        """Insert the event id in a savepoint; ``False`` if it was processed already.

        The row commits with the event's effects (same transaction), so a redelivery during
        processing waits on the unique key and then sees it; a failed processing leaves no row.
        """
        event = WebhookEvent(provider=provider, event_id=event_id, event_type=event_type)
        return insert_unless_duplicate(self._session, event)
