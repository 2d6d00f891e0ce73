"""What every repository shares: the session type and unique-violation translation."""

from collections.abc import Iterator
from contextlib import contextmanager

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, scoped_session
from sqlalchemy.sql.base import ExecutableOption

SessionProxy = scoped_session[Session]
ModelT = TypeVar("ModelT")


def get_locked(
    session: SessionProxy, model: type[ModelT], row_id: Any, *options: ExecutableOption
) -> ModelT | None:
    """Load one row and lock it (``SELECT ... FOR UPDATE OF <its table>``) until commit.

    ``OF`` keeps the lock on this table only, so eager-loaded relations (outer joins) neither
    get locked nor make PostgreSQL refuse the statement. The row is refreshed from the database.
    ``options``: loader options, e.g. a ``joinedload`` that brings a collection in the same
    statement.
    """
    query = (
        select(model)
        .where(model.id == row_id)  # type: ignore[attr-defined]
        .options(*options)
        .with_for_update(of=model)
        .execution_options(populate_existing=True)
    )
    return session.scalars(query).unique().one_or_none()


class DuplicateRow(Exception):
    """A unique constraint refused a row; ``constraint`` names it, for the service to map."""

    def __init__(self, constraint: str | None) -> None:
        super().__init__(constraint or "unique constraint")
        self.constraint = constraint


UNIQUE_VIOLATION_SQLSTATE = "23505"


def is_unique_violation(error: IntegrityError) -> bool:
    """True for unique-constraint violations only (not CHECK, NOT NULL or foreign keys)."""
    return getattr(error.orig, "pgcode", None) == UNIQUE_VIOLATION_SQLSTATE


def constraint_name(error: IntegrityError) -> str | None:
    """The violated constraint's name, as psycopg2 reports it."""
    diag = getattr(error.orig, "diag", None)
    name = getattr(diag, "constraint_name", None)
    if isinstance(name, str):
        return name
    return str(error.orig) if error.orig is not None else None


def insert_unless_duplicate(session: SessionProxy, row: object) -> bool:
    """Insert ``row`` in a savepoint; ``False`` only if a unique constraint refused it.

    Any other integrity error (a foreign key, NOT NULL, a CHECK) is a bug or bad input, not a
    duplicate: it propagates, so a webhook or a claim is never dropped as "already done".
    """
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as error:
        if not is_unique_violation(error):
            raise
        return False
    return True


@contextmanager
def unique_violations_as_duplicates() -> Iterator[None]:
    """Turn an IntegrityError from a unique constraint into ``DuplicateRow``; others pass."""
    try:
        yield
    except IntegrityError as error:
        if not is_unique_violation(error):
            raise
        raise DuplicateRow(constraint_name(error)) from error
