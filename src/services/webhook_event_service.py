"""Provider webhooks are processed once: the event id is stored with the event's effects."""

from src.services.ports import WebhookEventRepositoryPort


class WebhookEventService:
    def __init__(self, events: WebhookEventRepositoryPort) -> None:
        self._events = events

    def first_delivery(self, provider: str, event_id: str, event_type: str) -> bool:
        """True the first time; a redelivery (even a concurrent one) gets False."""
        return self._events.record_first_delivery(provider, event_id, event_type)
