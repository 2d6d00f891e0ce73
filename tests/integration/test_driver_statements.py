"""The hot paths' statements sent by the driver on a pooled connection (src/repositories/driver.py)
fail as SQLAlchemy's own execution would: a database error as SQLAlchemy's exception with the
driver's error inside, and a connection the server dropped invalidated, reported as such, and
the pool's other connections to that server let go. Real faults against the test's PostgreSQL:
a division by zero and ``pg_terminate_backend``."""

from collections.abc import Iterator

import psycopg2
import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.pool import QueuePool

from src.app import BillingApp
from src.config import READ_BIND
from src.extensions import db
from src.repositories.driver import fetch_one, pooled_connection, run
from tests.support.api import RegisteredUser
from tests.support.pg_faults import backend_gone, terminate_backend


@pytest.fixture
def autocommit_engine(app: BillingApp) -> Iterator[Engine]:
    with app.app_context():
        yield db.engines[READ_BIND]


def database_url(app: BillingApp) -> str:
    return str(app.config["SQLALCHEMY_DATABASE_URI"]).replace("+psycopg2", "")


def test_a_driver_error_is_sqlalchemys_exception_and_the_connection_stays_usable(
    autocommit_engine: Engine,
) -> None:
    with pytest.raises(DataError) as raised:
        with pooled_connection(autocommit_engine) as connection:
            fetch_one(connection, "SELECT 1 / %(zero)s", {"zero": 0})

    assert getattr(raised.value.orig, "pgcode", None) == "22012"  # division_by_zero
    assert raised.value.connection_invalidated is False
    with pooled_connection(autocommit_engine) as connection:
        assert fetch_one(connection, "SELECT %(one)s", {"one": 1}) == (1,)


def test_a_dropped_connection_is_invalidated_and_the_pool_let_go(
    app: BillingApp, autocommit_engine: Engine
) -> None:
    with (
        pooled_connection(autocommit_engine) as first,
        pooled_connection(autocommit_engine) as second,
    ):
        (backend,) = fetch_one(first, "SELECT pg_backend_pid()", ())
        run(second, "SELECT 1")  # a second connection, idle in the pool afterwards
    pool_before = autocommit_engine.pool
    assert isinstance(pool_before, QueuePool)
    assert pool_before.checkedin() == 2
    terminate_backend(database_url(app), backend)
    backend_gone(database_url(app), backend)

    with pytest.raises(DBAPIError) as raised:
        # The pool hands out the most recently returned connection first; try both.
        for _ in range(2):
            with pooled_connection(autocommit_engine) as connection:
                pid = fetch_one(connection, "SELECT pg_backend_pid()", ())
                assert pid != (backend,)

    assert raised.value.connection_invalidated is True
    assert autocommit_engine.pool is not pool_before  # disposed: a fresh pool
    assert pool_before.checkedin() == 0  # its idle connection closed
    with pooled_connection(autocommit_engine) as connection:
        assert fetch_one(connection, "SELECT %(one)s", {"one": 1}) == (1,)


def test_a_dropped_connection_under_a_balance_read_is_503_and_the_next_read_works(
    app: BillingApp, client: FlaskClient, user: RegisteredUser, autocommit_engine: Engine
) -> None:
    path = "/api/v1/user/tokens/balance"
    assert client.get(path, headers=user.headers).status_code == 200
    autocommit_engine.dispose()  # then the pool holds one connection: the next read's
    with pooled_connection(autocommit_engine) as connection:
        (backend,) = fetch_one(connection, "SELECT pg_backend_pid()", ())
    terminate_backend(database_url(app), backend)
    backend_gone(database_url(app), backend)

    lost = client.get(path, headers=user.headers)
    again = client.get(path, headers=user.headers)

    assert lost.status_code == 503, lost.get_json()
    assert lost.get_json()["error"]["code"] == "database_unavailable"
    assert again.status_code == 200, again.get_json()


def test_a_server_that_does_not_answer_is_sqlalchemys_operational_error() -> None:
    """``raw_connection`` lets psycopg2's connect error through as it is; the driver path
    raises it as ``Engine.connect`` would (src/errors.py answers that with a 503)."""
    nobody = create_engine("postgresql+psycopg2://postgres@127.0.0.1:9/postgres")
    try:
        with pytest.raises(OperationalError) as raised:
            with pooled_connection(nobody) as connection:
                fetch_one(connection, "SELECT 1", ())
        assert isinstance(raised.value.orig, psycopg2.OperationalError)
    finally:
        nobody.dispose()
