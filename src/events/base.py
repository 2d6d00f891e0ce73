"""Messages: commands (one handler, one transaction) and notifications (0..n listeners).

Names follow the sprint plans: a route builds a ``...Event`` and emits it. Commands fail loudly
(the error reaches the route and nothing commits); notifications are delivered only after the
command's transaction has committed, and a failing listener is logged, never undoing it.
"""

import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Generic, TypeVar

from src.clock import utc_now

ResultT = TypeVar("ResultT")
ResultT_co = TypeVar("ResultT_co", covariant=True)


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    """Anything that happened or is asked for; ``name`` is the stable wire name."""

    name: ClassVar[str]
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)
    occurred_at: datetime = field(default_factory=utc_now)


@dataclass(frozen=True, kw_only=True)
class Command(DomainEvent, Generic[ResultT_co]):
    """A request to change state, handled by exactly one handler in one transaction.

    ``retry_on_conflict``: the dispatcher may run the command again when PostgreSQL cut its
    transaction short (serialization failure 40001, deadlock 40P01). That is safe only for
    work with no effect outside the transaction, which is every command here: provider calls
    happen between commands, never inside one, and notifications are published once, after
    the commit. A command that ever gains an outside effect sets this to ``False``.
    """

    retry_on_conflict: ClassVar[bool] = True


@dataclass(frozen=True, kw_only=True)
class Notification(DomainEvent):
    """A fact, published after commit to any number of listeners."""


@dataclass(frozen=True)
class EventResult(Generic[ResultT]):
    """What a command handler produced, plus the notifications to publish after commit."""

    data: ResultT
    notifications: tuple[Notification, ...] = ()


CommandT = TypeVar("CommandT", bound=Command[object], contravariant=True)


class IEventHandler(ABC, Generic[CommandT, ResultT]):
    """Handles one command. Orchestrates services; never commits, never touches SQL."""

    @abstractmethod
    def handle(self, event: CommandT) -> EventResult[ResultT]:
        """Do the work; raise an ``ApiError`` to refuse (everything is rolled back)."""

    def on_failure(self, event: CommandT, error: Exception) -> None:
        """Record a failed command after its rollback, in a transaction of its own.

        The default records nothing. Payment capture overrides it so that every payment
        attempt, refused or broken, leaves an audit row even though its work was undone.
        """


class IEventListener(ABC):
    """Reacts to notifications after commit (logging, e-mails, follow-up commands)."""

    @abstractmethod
    def notify(self, event: Notification) -> None:
        """React; exceptions are logged by the dispatcher and go no further."""
