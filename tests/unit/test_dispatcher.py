"""The dispatcher: one transaction per command, notifications after commit, failures isolated."""

import logging
from dataclasses import dataclass, field

import pytest

from src.events.base import Command, EventResult, IEventHandler, IEventListener, Notification
from src.events.dispatcher import EventDispatcher, HandlerFactory, ListenerFactory, UnknownCommand
from tests.unit.fakes import FakeUnitOfWork


@dataclass(frozen=True, kw_only=True)
class Greet(Command[str]):
    name = "test.greet"
    who: str


@dataclass(frozen=True, kw_only=True)
class Unhandled(Command[None]):
    name = "test.unhandled"


@dataclass(frozen=True, kw_only=True)
class Greeted(Notification):
    name = "test.greeted"
    who: str


@dataclass(frozen=True, kw_only=True)
class Waved(Notification):
    name = "test.waved"


class Boom(Exception):
    """The handler's refusal."""


@dataclass
class GreetHandler(IEventHandler[Greet, str]):
    uow: FakeUnitOfWork
    error: Exception | None = None
    on_failure_error: Exception | None = None
    failures: list[tuple[Greet, Exception, list[str]]] = field(default_factory=list)

    def handle(self, event: Greet) -> EventResult[str]:
        if self.error is not None:
            raise self.error
        return EventResult(f"hello {event.who}", (Greeted(who=event.who), Waved()))

    def on_failure(self, event: Greet, error: Exception) -> None:
        self.failures.append((event, error, list(self.uow.log)))
        if self.on_failure_error is not None:
            raise self.on_failure_error


@dataclass
class Recorder(IEventListener):
    """Records each notification with the unit of work's log at delivery time."""

    uow: FakeUnitOfWork
    heard: list[tuple[str, list[str]]] = field(default_factory=list)

    def notify(self, event: Notification) -> None:
        self.heard.append((event.name, list(self.uow.log)))


class BrokenListener(IEventListener):
    def notify(self, event: Notification) -> None:
        raise RuntimeError("listener broke")


def _factory(listener: IEventListener) -> ListenerFactory:
    return lambda: listener


def _dispatcher(
    uow: FakeUnitOfWork,
    handler: GreetHandler,
    listeners: dict[str, list[ListenerFactory]] | None = None,
) -> EventDispatcher:
    handler_factory: HandlerFactory = lambda: handler  # noqa: E731
    return EventDispatcher(uow.factory, {Greet.name: handler_factory}, listeners or {})


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


def test_success_commits_once_and_returns_the_result(uow: FakeUnitOfWork) -> None:
    result = _dispatcher(uow, GreetHandler(uow)).emit(Greet(who="ada"))

    assert result.data == "hello ada"
    assert uow.log == ["begin", "commit"]
    assert uow.commits == 1


def test_handler_error_rolls_back_and_is_re_raised(uow: FakeUnitOfWork) -> None:
    error = Boom("refused")
    handler = GreetHandler(uow, error=error)

    with pytest.raises(Boom) as caught:
        _dispatcher(uow, handler).emit(Greet(who="ada"))

    assert caught.value is error
    assert uow.log[:2] == ["begin", "rollback"]
    assert uow.commits == 1  # only the on_failure transaction, never the handler's


def test_failed_command_publishes_nothing(uow: FakeUnitOfWork) -> None:
    recorder = Recorder(uow)
    dispatcher = _dispatcher(uow, GreetHandler(uow, error=Boom()), {"*": [_factory(recorder)]})

    with pytest.raises(Boom):
        dispatcher.emit(Greet(who="ada"))

    assert recorder.heard == []


def test_notifications_are_published_only_after_commit(uow: FakeUnitOfWork) -> None:
    recorder = Recorder(uow)
    dispatcher = _dispatcher(uow, GreetHandler(uow), {Greeted.name: [_factory(recorder)]})

    dispatcher.emit(Greet(who="ada"))

    assert recorder.heard == [("test.greeted", ["begin", "commit"])]


def test_commit_failure_publishes_nothing_and_is_re_raised(uow: FakeUnitOfWork) -> None:
    recorder = Recorder(uow)
    handler = GreetHandler(uow)
    uow.fail_commit = Boom("commit failed")

    with pytest.raises(Boom, match="commit failed"):
        _dispatcher(uow, handler, {"*": [_factory(recorder)]}).emit(Greet(who="ada"))

    assert recorder.heard == []
    assert uow.rollbacks >= 1
    assert [error for _, error, _ in handler.failures] == [uow.fail_commit]


def test_failing_listener_is_logged_and_others_still_hear(
    uow: FakeUnitOfWork, caplog: pytest.LogCaptureFixture
) -> None:
    before, after = Recorder(uow), Recorder(uow)
    listeners = {Greeted.name: [_factory(before), _factory(BrokenListener()), _factory(after)]}

    with caplog.at_level(logging.ERROR, logger="src.events.dispatcher"):
        result = _dispatcher(uow, GreetHandler(uow), listeners).emit(Greet(who="ada"))

    assert result.data == "hello ada"
    assert [name for name, _ in before.heard] == ["test.greeted"]
    assert [name for name, _ in after.heard] == ["test.greeted"]
    failures = [record for record in caplog.records if "listener failed" in record.getMessage()]
    assert len(failures) == 1
    assert failures[0].exc_info is not None
    assert "test.greeted" in failures[0].getMessage()


def test_failing_listener_does_not_stop_later_notifications(uow: FakeUnitOfWork) -> None:
    recorder = Recorder(uow)
    listeners = {Greeted.name: [_factory(BrokenListener())], Waved.name: [_factory(recorder)]}

    _dispatcher(uow, GreetHandler(uow), listeners).emit(Greet(who="ada"))

    assert [name for name, _ in recorder.heard] == ["test.waved"]


def test_wildcard_listener_hears_every_notification(uow: FakeUnitOfWork) -> None:
    everything, greetings = Recorder(uow), Recorder(uow)
    listeners = {"*": [_factory(everything)], Greeted.name: [_factory(greetings)]}

    _dispatcher(uow, GreetHandler(uow), listeners).emit(Greet(who="ada"))

    assert [name for name, _ in everything.heard] == ["test.greeted", "test.waved"]
    assert [name for name, _ in greetings.heard] == ["test.greeted"]


def test_listeners_are_built_fresh_for_each_delivery(uow: FakeUnitOfWork) -> None:
    built: list[Recorder] = []

    def build() -> IEventListener:
        built.append(Recorder(uow))
        return built[-1]

    _dispatcher(uow, GreetHandler(uow), {"*": [build]}).emit(Greet(who="ada"))

    assert len(built) == 2
    assert [len(recorder.heard) for recorder in built] == [1, 1]


def test_on_failure_gets_the_error_in_its_own_unit_of_work(uow: FakeUnitOfWork) -> None:
    error = Boom("refused")
    handler = GreetHandler(uow, error=error)
    command = Greet(who="ada")

    with pytest.raises(Boom):
        _dispatcher(uow, handler).emit(command)

    assert len(handler.failures) == 1
    event, seen_error, log_at_call = handler.failures[0]
    assert event is command
    assert seen_error is error
    # The failed transaction was rolled back before a second one began for on_failure.
    assert log_at_call == ["begin", "rollback", "begin"]
    assert uow.log == ["begin", "rollback", "begin", "commit"]


def test_failing_on_failure_does_not_mask_the_original_error(
    uow: FakeUnitOfWork, caplog: pytest.LogCaptureFixture
) -> None:
    original = Boom("the real problem")
    handler = GreetHandler(uow, error=original, on_failure_error=RuntimeError("audit broke"))

    with caplog.at_level(logging.ERROR, logger="src.events.dispatcher"):
        with pytest.raises(Boom) as caught:
            _dispatcher(uow, handler).emit(Greet(who="ada"))

    assert caught.value is original
    assert uow.log == ["begin", "rollback", "begin", "rollback"]
    assert any("recording the failure" in record.getMessage() for record in caplog.records)


def test_unknown_command_raises_unknown_command(uow: FakeUnitOfWork) -> None:
    with pytest.raises(UnknownCommand, match="test.unhandled"):
        _dispatcher(uow, GreetHandler(uow)).emit(Unhandled())

    assert uow.log == []
