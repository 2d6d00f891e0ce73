"""How a database error reaches the client: a connection the server dropped mid-query is a
503 ``database_unavailable`` (as the restart test saw: psycopg2 reports it as a plain
``DatabaseError``, "server closed the connection unexpectedly"), any other database error
stays a 500. The errors are raised by real psycopg2 against the test's PostgreSQL."""

import psycopg2
import pytest
from sqlalchemy.exc import DBAPIError

from src.app import BillingApp


def raise_from_real_driver(url: str, *, invalidated: bool) -> None:
    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1/0")
    except psycopg2.DatabaseError as error:
        raise DBAPIError("SELECT 1/0", None, error, connection_invalidated=invalidated) from error
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("invalidated", "status", "code"),
    [
        (True, 503, "database_unavailable"),
        (False, 500, "internal_error"),
    ],
)
def test_a_dropped_connection_is_503_and_other_database_errors_500(
    app: BillingApp, database_url: str, invalidated: bool, status: int, code: str
) -> None:
    url = database_url

    def view() -> str:
        raise_from_real_driver(url, invalidated=invalidated)
        return "unreachable"

    app.add_url_rule("/test-only/database-error", "test_database_error", view)
    answer = app.test_client().get("/test-only/database-error")

    assert answer.status_code == status, answer.get_json()
    assert answer.get_json()["error"]["code"] == code
    assert ("Retry-After" in answer.headers) is invalidated
