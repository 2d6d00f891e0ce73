"""Every statement the app sends, recorded at the driver: each connection that either of its
engines (the session's and the autocommit one) checks out meanwhile gets a psycopg2 cursor
class that notes what it executes. The driver is where both kinds of execution meet:
SQLAlchemy's, and the hot paths' own cursor on a pooled connection (src/repositories/driver.py),
which SQLAlchemy's statement events never see."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg2.extensions
from sqlalchemy import Engine, event

from src.app import BillingApp
from src.config import READ_BIND
from src.extensions import db


def _recording_cursor(name: str, seen: list[tuple[str, str]]) -> type:
    class RecordingCursor(psycopg2.extensions.cursor):
        def execute(self, query: Any, vars: Any = None) -> Any:
            seen.append((name, query.decode() if isinstance(query, bytes) else str(query)))
            return super().execute(query, vars)

    return RecordingCursor


@contextmanager
def recorded_statements(app: BillingApp) -> Iterator[list[tuple[str, str]]]:
    """(engine, SQL) of every statement sent meanwhile, by the app's two engines. Only
    connections checked out after it starts are seen: start it between requests."""
    seen: list[tuple[str, str]] = []
    with app.app_context():
        engines: dict[str, Engine] = {"session": db.engine, "autocommit": db.engines[READ_BIND]}

    def on_checkout(name: str) -> Any:
        cursor_class = _recording_cursor(name, seen)

        def checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
            dbapi_connection.cursor_factory = cursor_class

        return checkout

    def checkin(dbapi_connection: Any, record: Any) -> None:
        if dbapi_connection is not None:
            dbapi_connection.cursor_factory = None

    listeners = [
        (engine, identifier, listener)
        for name, engine in engines.items()
        for identifier, listener in (("checkout", on_checkout(name)), ("checkin", checkin))
    ]
    for engine, identifier, listener in listeners:
        event.listen(engine, identifier, listener)
    try:
        yield seen
    finally:
        for engine, identifier, listener in listeners:
            event.remove(engine, identifier, listener)
