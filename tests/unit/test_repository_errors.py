"""Only unique violations become DuplicateRow; other integrity errors stay what they are."""

import pytest
from sqlalchemy.exc import IntegrityError

from src.repositories.base import DuplicateRow, unique_violations_as_duplicates


class PgError(Exception):
    """Shaped like psycopg2's error: a SQLSTATE in ``pgcode``."""

    def __init__(self, pgcode: str) -> None:
        super().__init__(pgcode)
        self.pgcode = pgcode


def raise_integrity_error(orig: Exception) -> None:
    with unique_violations_as_duplicates():
        raise IntegrityError("INSERT ...", {}, orig)


@pytest.mark.parametrize(
    "orig",
    [PgError("23505"), Exception("UNIQUE constraint failed: users.email")],
)
def test_unique_violations_become_duplicate_rows(orig: Exception) -> None:
    with pytest.raises(DuplicateRow):
        raise_integrity_error(orig)


@pytest.mark.parametrize(
    "orig",
    [
        PgError("23514"),  # check_violation
        PgError("23503"),  # foreign_key_violation
        Exception("CHECK constraint failed: email_lowercase"),
        Exception("FOREIGN KEY constraint failed"),
    ],
)
def test_other_integrity_errors_pass_through(orig: Exception) -> None:
    with pytest.raises(IntegrityError):
        raise_integrity_error(orig)
