"""The dispatcher's bounded retry of conflicts: which errors, which commands, how often.

The real deadlock and the real serialization failure are proven on PostgreSQL in
tests/integration/test_hardening_input.py; this pins the rules with fakes.
"""

from dataclasses import dataclass, field
from typing import ClassVar

import pytest

from src.events.base import Command, EventResult, IEventHandler, Notification
from src.events.dispatcher import EventDispatcher
from tests.unit.fakes import FakeUnitOfWork


class FakeDriverError:
    def __init__(self, pgcode: str) -> None:
        self.pgcode = pgcode


class DatabaseError(Exception):
    """Shaped like SQLAlchemy's wrapper: the driver's error, with its SQLSTATE, in ``orig``."""

    def __init__(self, pgcode: str) -> None:
        super().__init__(pgcode)
        self.orig = FakeDriverError(pgcode)


@dataclass(frozen=True, kw_only=True)
class Count(Command[int]):
    name = "test.count"


@dataclass(frozen=True, kw_only=True)
class CountOnce(Command[int]):
    """A command that (pretending) has an outside effect: never run twice."""

    name = "test.count_once"
    retry_on_conflict: ClassVar[bool] = False


@dataclass(frozen=True, kw_only=True)
class Counted(Notification):
    name = "test.counted"


@dataclass
class Script:
    """What each attempt raises (None: succeed), and what happened."""

    errors: list[Exception | None]
    attempts: int = 0
    failures: list[Exception] = field(default_factory=list)


@dataclass
class ScriptedHandler(IEventHandler[Command[int], int]):
    script: Script

    def handle(self, event: Command[int]) -> EventResult[int]:
        self.script.attempts += 1
        error = self.script.errors[self.script.attempts - 1]
        if error is not None:
            raise error
        return EventResult(self.script.attempts, (Counted(),))

    def on_failure(self, event: Command[int], error: Exception) -> None:
        self.script.failures.append(error)


def dispatcher(script: Script, uow: FakeUnitOfWork, pauses: list[float]) -> EventDispatcher:
    factories = {name: (lambda: ScriptedHandler(script)) for name in (Count.name, CountOnce.name)}
    return EventDispatcher(
        unit_of_work=lambda: uow, command_handlers=factories, listeners={}, sleep=pauses.append
    )


@pytest.mark.parametrize("sqlstate", ["40001", "40P01"])
def test_a_conflict_is_retried_and_the_retry_wins(sqlstate: str) -> None:
    script = Script([DatabaseError(sqlstate), None])
    pauses: list[float] = []

    result = dispatcher(script, FakeUnitOfWork(), pauses).emit(Count())

    assert (result.data, script.attempts, script.failures) == (2, 2, [])
    assert len(pauses) == 1 and 0 <= pauses[0] <= 0.05


def test_three_conflicts_in_a_row_reach_the_caller_and_are_recorded_once() -> None:
    last = DatabaseError("40P01")
    script = Script([DatabaseError("40001"), DatabaseError("40P01"), last, None])

    with pytest.raises(DatabaseError) as raised:
        dispatcher(script, FakeUnitOfWork(), []).emit(Count())

    assert raised.value is last
    assert (script.attempts, script.failures) == (3, [last])


@pytest.mark.parametrize("error", [DatabaseError("57014"), DatabaseError("23505"), ValueError()])
def test_other_errors_are_not_retried(error: Exception) -> None:
    script = Script([error, None])

    with pytest.raises(type(error)):
        dispatcher(script, FakeUnitOfWork(), []).emit(Count())

    assert script.attempts == 1


def test_a_command_that_opts_out_is_never_retried() -> None:
    script = Script([DatabaseError("40001"), None])

    with pytest.raises(DatabaseError):
        dispatcher(script, FakeUnitOfWork(), []).emit(CountOnce())

    assert script.attempts == 1
