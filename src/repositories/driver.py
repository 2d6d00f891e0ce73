"""The hot paths' one statement sent by psycopg2 itself, on a connection of SQLAlchemy's pool.

Every balance read and every common consume is one statement. SQLAlchemy's execution around
it (a ``Connection``, its transaction, an execution context, events, a result with its
metadata) cost 279,000 instructions per statement; the driver's cursor on the same pooled
connection costs 120,000 (bench/README.md, seventh session): a tenth of a balance read.
Only those statements go this way; every other one keeps SQLAlchemy's execution.

What stays SQLAlchemy's:

- the statement, built with Core and compiled by the engine's dialect (once per process);
- the pool: checkout, the reset on return, recycling, its size and timeouts;
- the errors: raised as SQLAlchemy raises them (``DBAPIError.instance``: an
  ``IntegrityError`` for a unique violation, the driver's error as ``orig``), and a lost
  connection is recognised by the dialect, invalidated and reported with
  ``connection_invalidated`` (503 ``database_unavailable``, src/errors.py). As SQLAlchemy
  invalidates the whole pool then, the engine's pool is disposed: its idle connections
  were opened to the same server and would fail one request each.

What is given up: SQLAlchemy's statement events (``before_cursor_execute``) for these
statements. Nothing in the app listens to them; the tests record statements at the driver
(tests/support/statements.py).
"""

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import PoolProxiedConnection


@contextmanager
def pooled_connection(engine: Engine) -> Iterator[PoolProxiedConnection]:
    """A DBAPI connection checked out of ``engine``'s pool and returned to it afterwards.

    A driver error, in the block or while checking out, leaves as SQLAlchemy's exception
    (module docstring). ``Engine.connect`` wraps a failed connect too; ``raw_connection``,
    which this uses, does not, so it is wrapped here (an ``OperationalError``: a 503).
    """
    dbapi_error = engine.dialect.loaded_dbapi.Error
    try:
        connection = engine.raw_connection()
    except dbapi_error as error:
        lost = engine.dialect.is_disconnect(error, None, None)
        raise _as_sqlalchemy_error(engine, error, lost) from error
    try:
        yield connection
    except dbapi_error as error:
        lost = engine.dialect.is_disconnect(error, connection.dbapi_connection, None)
        if lost:
            connection.invalidate(error)
            engine.dispose()
        raise _as_sqlalchemy_error(engine, error, lost) from error
    finally:
        connection.close()


def _as_sqlalchemy_error(engine: Engine, error: Exception, lost: bool) -> Exception:
    return DBAPIError.instance(
        None,
        None,
        error,
        engine.dialect.loaded_dbapi.Error,
        connection_invalidated=lost,
        dialect=engine.dialect,
    )


Arguments = Mapping[str, Any] | tuple[Any, ...]


def fetch_one(connection: PoolProxiedConnection, sql: str, arguments: Arguments) -> Any:
    """The first row of ``sql`` (psycopg2's placeholders) as a tuple, or None."""
    cursor = connection.cursor()
    try:
        cursor.execute(sql, arguments)
        return cursor.fetchone()
    finally:
        cursor.close()


def run(connection: PoolProxiedConnection, sql: str, arguments: Arguments = ()) -> None:
    """``sql`` for its effect (no rows). Arguments ``()``, as SQLAlchemy passes none: the
    driver still reads ``%%`` as ``%``."""
    cursor = connection.cursor()
    try:
        cursor.execute(sql, arguments)
    finally:
        cursor.close()


def driver_value(value: object) -> object:
    """psycopg2 adapts str, int, datetime and None itself; a UUID goes as its text."""
    return str(value) if isinstance(value, uuid.UUID) else value
