"""A Core statement run as a server-side prepared statement (PREPARE once, then EXECUTE).

psycopg2 sends every statement as text, so PostgreSQL parses and plans it on every
execution. For the one-statement consume (three data-modifying CTEs and a dozen subplans)
planning cost as much as running it (about 1 ms each, EXPLAIN ANALYZE). The statement is
still built with SQLAlchemy Core and compiled once per process; this renders that compiled
text as ``PREPARE name (types) AS ...`` with positional parameters, prepares it on each
pooled connection the first time that connection needs it (``Connection.info`` lives as
long as the DBAPI connection; a prepared statement survives rollbacks and lives as long as
the session), and runs ``EXECUTE name(...)``, which PostgreSQL plans once and reuses.

``execute`` runs it on a SQLAlchemy ``Connection`` (in the session's transaction);
``fetch_one_alone`` and ``fetch_first_alone`` on a pooled connection of their own through
the driver (driver.py), for a statement that is a whole command: the consume's, and the
balance read, for which parsing and planning were most of PostgreSQL's work.

Preparing lazily, not on connect, keeps connections that never consume (migrations on an
empty database, the CLI) free of it. Behind a transaction-pooling proxy (pgbouncer in
transaction mode) session state like this is not kept; the app connects directly.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ClauseElement, Connection, CursorResult, Engine
from sqlalchemy.engine import Dialect

from src.repositories.driver import driver_value, fetch_one, pooled_connection, run

_BIND = re.compile(r"%\((\w+)\)s")


def _sql_literal(value: object) -> str:
    """A constant of the statement (a status, a zero) as SQL; only plain values occur."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no literal form for {value!r}")


@dataclass(frozen=True)
class PreparedStatement:
    """``parameters``: (bind name, PostgreSQL type) in the order EXECUTE passes them."""

    name: str
    statement: ClauseElement
    parameters: Sequence[tuple[str, str]]
    _sql: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    # The key in a pooled connection's ``info`` (SQLAlchemy's ``Connection.info`` is the same
    # dictionary), set once the statement is prepared there; and the EXECUTE. Both are made
    # once: the balance read runs them on every request.
    _marker: str = field(init=False, compare=False, repr=False)
    _execute: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        placeholders = ", ".join("%s" for _ in self.parameters)
        object.__setattr__(self, "_marker", f"prepared:{self.name}")
        object.__setattr__(self, "_execute", f"EXECUTE {self.name}({placeholders})")

    def execute(self, connection: Connection, values: Mapping[str, Any]) -> CursorResult[Any]:
        if not connection.info.get(self._marker):
            connection.exec_driver_sql(self._prepare_sql(connection.dialect))
            connection.info[self._marker] = True
        return connection.exec_driver_sql(self._execute, self._arguments(values))

    def fetch_one_alone(self, engine: Engine, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """The statement's one row, run as a transaction of its own (``engine`` autocommits)."""
        row = self.fetch_first_alone(engine, values)
        if row is None:
            raise LookupError(f"{self.name} returned no row")
        return row

    def fetch_first_alone(
        self, engine: Engine, values: Mapping[str, Any]
    ) -> tuple[Any, ...] | None:
        """The first row, or None, run as a transaction of its own (``engine`` autocommits)."""
        with pooled_connection(engine) as connection:
            if not connection.info.get(self._marker):
                run(connection, self._prepare_sql(engine.dialect))
                connection.info[self._marker] = True
            row = fetch_one(connection, self._execute, self._arguments(values))
        return None if row is None else tuple(row)

    def _arguments(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(driver_value(values[name]) for name, _ in self.parameters)

    def _prepare_sql(self, dialect: Dialect) -> str:
        if "prepare" not in self._sql:
            compiled = self.statement.compile(dialect=dialect)
            positions = {name: index for index, (name, _) in enumerate(self.parameters, 1)}
            constants = compiled.params

            def placeholder(match: re.Match[str]) -> str:
                name = match.group(1)
                if name in positions:
                    return f"${positions[name]}"
                return _sql_literal(constants[name])

            body = _BIND.sub(placeholder, compiled.string)
            types = ", ".join(sql_type for _, sql_type in self.parameters)
            self._sql["prepare"] = f"PREPARE {self.name} ({types}) AS {body}"
        return self._sql["prepare"]


def prefixed_binds(request: object) -> dict[str, Any]:
    """A request dataclass's fields as ``p_<name>`` binds. They are prefixed: a bind named
    like a column (``user_id``) would be taken by ``update()`` as that column's new value."""
    return {f"p_{name}": value for name, value in vars(request).items()}
