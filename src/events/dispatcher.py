"""The in-process dispatcher: routes emit commands here; handlers run inside a unit of work."""

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from src.events.base import Command, EventResult, IEventHandler, IEventListener, Notification

logger = logging.getLogger(__name__)

ResultT = TypeVar("ResultT")

ALL_NOTIFICATIONS = "*"


class UnitOfWork(Protocol):
    def __enter__(self) -> "UnitOfWork": ...

    def __exit__(self, *exc_info: object) -> None: ...

    def commit(self) -> None: ...


HandlerFactory = Callable[[], IEventHandler[Any, Any]]
ListenerFactory = Callable[[], IEventListener]


class UnknownCommand(LookupError):
    """A command without a registered handler: a wiring bug, never a client error."""


class EventDispatcher:
    """Runs each command's handler in its own transaction, then publishes its notifications.

    Handlers and listeners are given as factories (container providers), so every emit gets
    fresh objects bound to the current session, and the dispatcher itself holds no state.
    """

    def __init__(
        self,
        unit_of_work: Callable[[], UnitOfWork],
        command_handlers: Mapping[str, HandlerFactory],
        listeners: Mapping[str, Sequence[ListenerFactory]],
    ) -> None:
        self._unit_of_work = unit_of_work
        self._command_handlers = command_handlers
        self._listeners = listeners

    def emit(self, command: Command[ResultT]) -> EventResult[ResultT]:
        """Handle ``command`` all-or-nothing; re-raise its error after recording the failure."""
        factory = self._command_handlers.get(command.name)
        if factory is None:
            raise UnknownCommand(f"No handler registered for {command.name!r}")
        handler = factory()
        try:
            with self._unit_of_work() as uow:
                result: EventResult[ResultT] = handler.handle(command)
                uow.commit()
        except Exception as error:
            self._record_failure(handler, command, error)
            raise
        self.publish(result.notifications)
        return result

    def publish(self, notifications: Iterable[Notification]) -> None:
        """Deliver each notification to its listeners; a failing listener is only logged."""
        for notification in notifications:
            factories = [
                *self._listeners.get(notification.name, ()),
                *self._listeners.get(ALL_NOTIFICATIONS, ()),
            ]
            for factory in factories:
                try:
                    factory().notify(notification)
                except Exception:  # noqa: BLE001 - isolation is the point: see docstring
                    logger.exception(
                        "listener failed for %s (%s)", notification.name, notification.event_id
                    )

    def _record_failure(
        self, handler: IEventHandler[Any, Any], command: Command[Any], error: Exception
    ) -> None:
        try:
            with self._unit_of_work() as uow:
                handler.on_failure(command, error)
                uow.commit()
        except Exception:  # noqa: BLE001 - the original error must still reach the caller
            logger.exception("recording the failure of %s failed", command.name)
