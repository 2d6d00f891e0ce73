"""Every statement the app sends, recorded with SQLAlchemy's ``before_cursor_execute``
event on both of its engines (the session's and the autocommit one)."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event

from src.app import BillingApp
from src.config import READ_BIND
from src.extensions import db


@contextmanager
def recorded_statements(app: BillingApp) -> Iterator[list[tuple[str, str]]]:
    """(engine, SQL) of every statement sent meanwhile, by the app's two engines."""
    seen: list[tuple[str, str]] = []
    with app.app_context():
        engines: dict[str, Engine] = {"session": db.engine, "autocommit": db.engines[READ_BIND]}

    def recorder(name: str) -> Any:
        def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            seen.append((name, statement))

        return record

    listeners = [(engine, recorder(name)) for name, engine in engines.items()]
    for engine, listener in listeners:
        event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        for engine, listener in listeners:
            event.remove(engine, "before_cursor_execute", listener)
