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


def test_unique_violations_become_duplicate_rows() -> None:
    with pytest.raises(DuplicateRow):
        raise_integrity_error(PgError("23505"))


@pytest.mark.parametrize(
    "orig",
    [
        PgError("23514"),  # check_violation
        PgError("23503"),  # foreign_key_violation
        Exception("no SQLSTATE at all"),
    ],
)
def test_other_integrity_errors_pass_through(orig: Exception) -> None:
    with pytest.raises(IntegrityError):
        raise_integrity_error(orig)
