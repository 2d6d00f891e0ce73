"""Every connection carries the configured timeouts; a wait cut short answers 503 with a
stable code and Retry-After, changes nothing, and never a 500."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg2
import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from src.app import BillingApp
from src.config import READ_BIND
from src.extensions import db
from src.models.token_usage import TokenUsage
from tests.support.api import ApiClient, RegisteredUser
from tests.support.tokens import buy_tokens, consume


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    return {
        **app_settings,
        "TRIAL_CREDITS": 0,
        "DB_STATEMENT_TIMEOUT_MS": 1500,
        "DB_LOCK_TIMEOUT_MS": 150,
        "DB_IDLE_IN_TRANSACTION_TIMEOUT_MS": 20000,
    }


TIMEOUTS = ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")


def test_every_connection_starts_with_the_configured_timeouts(app: BillingApp) -> None:
    """Of both engines: the session's and the autocommit one (reads, the common consume)."""
    with app.app_context():
        shown = {}
        for bind, engine in db.engines.items():
            with engine.connect() as connection:
                shown[bind] = {
                    name: connection.execute(text(f"SHOW {name}")).scalar_one()
                    for name in (*TIMEOUTS, "plan_cache_mode")
                }
    expected = {
        "statement_timeout": "1500ms",
        "lock_timeout": "150ms",
        "idle_in_transaction_session_timeout": "20s",
        "plan_cache_mode": "force_generic_plan",
    }
    assert shown == {None: expected, READ_BIND: expected}


@contextmanager
def balance_locked_elsewhere(app: BillingApp, user: RegisteredUser) -> Iterator[None]:
    """Another session holds the user's balance row (as a slow transaction would)."""
    connection = psycopg2.connect(app.config["SQLALCHEMY_DATABASE_URI"].replace("+psycopg2", ""))
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM user_token_balances WHERE user_id = %s FOR UPDATE",
                (str(user.id),),
            )
        yield
    finally:
        connection.rollback()
        connection.close()


def test_a_lock_wait_cut_short_is_a_503_with_retry_after_and_charges_nothing(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
    count_rows: Any,
) -> None:
    buy_tokens(api, user, demo_catalog["tokens-50"])

    with balance_locked_elsewhere(app, user):
        response = consume(client, user, 5, "while-locked")

    assert response.status_code == 503
    assert response.get_json()["error"] == {
        "code": "lock_timeout",
        "message": "The record is busy; retry the request.",
    }
    assert response.headers["Retry-After"] == "1"
    assert count_rows(TokenUsage) == 0
    assert api.balance(user)["balance"] == 50
    retried = consume(client, user, 5, "while-locked")
    assert retried.status_code == 201 and api.balance(user)["balance"] == 45


def test_a_statement_cut_short_is_a_503_database_timeout(
    app: BillingApp, client: FlaskClient
) -> None:
    """A real statement over the timeout (pg_sleep), through the app's error handler."""

    @app.get("/api/v1/test-only/slow")
    def slow() -> dict[str, str]:
        db.session.execute(text("SELECT pg_sleep(3)"))
        return {"status": "done"}

    response = client.get("/api/v1/test-only/slow")

    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "database_timeout"
    assert response.headers["Retry-After"] == "1"
