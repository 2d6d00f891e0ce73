"""Test doubles registered through the container (never by patching imports)."""

from collections.abc import Callable
from typing import Any

from dependency_injector import providers

from src.app import BillingApp
from src.events.base import IEventListener, Notification


class RecordingListener(IEventListener):
    """Keeps every notification it hears; ``probe`` runs at delivery time (e.g. a DB check)."""

    def __init__(self, sink: list[Any], probe: Callable[[Notification], Any] | None = None):
        self._sink = sink
        self._probe = probe

    def notify(self, event: Notification) -> None:
        self._sink.append((event, self._probe(event) if self._probe else None))


def record_notifications(
    app: BillingApp, probe: Callable[[Notification], Any] | None = None
) -> list[Any]:
    """Replace the app's listeners with one that records (event, probe result) pairs."""
    received: list[Any] = []
    listener = providers.Factory(RecordingListener, sink=received, probe=probe)
    app.container.listeners.override(providers.Dict({"*": providers.List(listener.provider)}))
    return received
