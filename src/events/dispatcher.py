"""The in-process dispatcher: routes emit commands here; handlers run inside a unit of work."""

import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from src.errors import RetryableConflict
from src.events.base import Command, EventResult, IEventHandler, IEventListener, Notification

logger = logging.getLogger(__name__)

ResultT = TypeVar("ResultT")

ALL_NOTIFICATIONS = "*"
# SQLSTATEs after which the same transaction, run again, may well succeed: nothing of it
# was committed (serialization_failure, deadlock_detected).
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})
MAX_ATTEMPTS = 3
# The pause before attempt n+1 is uniform in [0, BACKOFF_SECONDS * n]: jitter, so the two
# sides of a deadlock do not collide again in lockstep.
BACKOFF_SECONDS = 0.05


class UnitOfWork(Protocol):
    def __enter__(self) -> "UnitOfWork": ...

    def __exit__(self, *exc_info: object) -> None: ...

    def commit(self) -> None: ...


HandlerFactory = Callable[[], IEventHandler[Any, Any]]
ListenerFactory = Callable[[], IEventListener]


def conflict_sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of a database error wrapped by SQLAlchemy (``error.orig.pgcode``)."""
    code = getattr(getattr(error, "orig", None), "pgcode", None)
    return code if isinstance(code, str) else None


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
        max_attempts: int = MAX_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._command_handlers = command_handlers
        self._listeners = listeners
        self._max_attempts = max_attempts
        self._sleep = sleep

    def emit(self, command: Command[ResultT]) -> EventResult[ResultT]:
        """Handle ``command`` all-or-nothing; re-raise its error after recording the failure.

        A transaction PostgreSQL aborted as a serialization failure or a deadlock victim is
        run again, with a fresh handler, up to ``max_attempts`` in all (commands that allow
        it: ``Command.retry_on_conflict``); the last error reaches the caller (503
        ``database_conflict``). Only the final failure is recorded, and notifications are
        published once, after the one commit.
        """
        factory = self._command_handlers.get(command.name)
        if factory is None:
            raise UnknownCommand(f"No handler registered for {command.name!r}")
        attempt = 1
        while True:
            handler = factory()
            try:
                with self._unit_of_work() as uow:
                    result: EventResult[ResultT] = handler.handle(command)
                    uow.commit()
                break
            except Exception as error:
                if attempt < self._max_attempts and self._may_retry(command, error):
                    logger.warning(
                        "%s: attempt %d lost a conflict (%s); retrying",
                        command.name,
                        attempt,
                        conflict_sqlstate(error),
                    )
                    self._sleep(random.uniform(0, BACKOFF_SECONDS * attempt))
                    attempt += 1
                    continue
                self._record_failure(handler, command, error)
                raise
        self.publish(result.notifications)
        return result

    @staticmethod
    def _may_retry(command: Command[Any], error: Exception) -> bool:
        lost_race = isinstance(error, RetryableConflict)
        return command.retry_on_conflict and (
            lost_race or conflict_sqlstate(error) in RETRYABLE_SQLSTATES
        )

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
