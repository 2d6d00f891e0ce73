"""The fast money paths (issue 14): what reaches the database per request, and the races
the one-statement consume must still win. Every statement the app sends is recorded
(tests/support/statements.py)."""

import threading
import time
import uuid
from typing import Any

import psycopg2
import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from src.app import BillingApp
from src.clock import utc_now
from src.config import READ_BIND
from src.extensions import db
from src.models.token_ledger import TokenTransaction
from src.models.token_usage import TokenUsage
from src.jobs.names import AUTO_RELOAD_TASK
from src.repositories.base import SessionProxy
from src.repositories.usage_charge_repository import ChargeRequest, UsageChargeRepository
from tests.support.api import ApiClient, RegisteredUser
from tests.support.jobs import jobs
from tests.support.pg_faults import row_lock
from tests.support.statements import recorded_statements
from tests.support.tokens import buy_tokens, consume

LOCK_BALANCE = "SELECT 1 FROM user_token_balances WHERE user_id = %s FOR UPDATE"


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    return {**app_settings, "TRIAL_CREDITS": 0}


@pytest.fixture
def funded(api: ApiClient, user: RegisteredUser, demo_catalog: dict[str, Any]) -> RegisteredUser:
    buy_tokens(api, user, demo_catalog["tokens-100"])
    return user


def database_url(app: BillingApp) -> str:
    return str(app.config["SQLALCHEMY_DATABASE_URI"]).replace("+psycopg2", "")


def test_a_consume_paid_with_tokens_is_one_autocommit_statement(
    app: BillingApp, client: FlaskClient, funded: RegisteredUser, count_rows: Any
) -> None:
    """No BEGIN and no COMMIT: the statement is the whole transaction."""
    assert consume(client, funded, 1, "warm-up").status_code == 201  # prepares the statement

    with recorded_statements(app) as statements:
        response = consume(client, funded, 2, "one-trip")

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["balance"] == 97
    assert len(statements) == 1 and statements[0][0] == "autocommit", statements
    assert statements[0][1].startswith("EXECUTE billing_charge_usage_alone(")
    assert count_rows(TokenUsage) == 2 and count_rows(TokenTransaction) == 3  # purchase too


def test_a_consume_paid_with_tokens_makes_no_orm_session(
    client: FlaskClient, funded: RegisteredUser
) -> None:
    """Its statement commits on its own connection, so the command's unit of work has
    nothing to commit and makes no session (nor an empty transaction) for it."""
    assert consume(client, funded, 1, "warm-up").status_code == 201
    begun: list[object] = []

    def record(session: Session, transaction: object) -> None:
        begun.append(transaction)

    event.listen(Session, "after_transaction_create", record)
    try:
        response = consume(client, funded, 2, "no-session")
    finally:
        event.remove(Session, "after_transaction_create", record)

    assert response.status_code == 201, response.get_json()
    assert begun == []


def test_a_consume_under_the_reload_threshold_runs_in_the_transaction_with_its_job(
    app: BillingApp, client: FlaskClient, funded: RegisteredUser, demo_catalog: dict[str, Any]
) -> None:
    """The form that commits alone refuses it (it wrote nothing); the same statement then
    runs in the command's transaction, which also defers the reload."""
    body = {"enabled": True, "threshold": 99, "bundle_id": str(demo_catalog["tokens-50"])}
    reload_url = "/api/v1/user/tokens/auto-reload"
    assert client.put(reload_url, json=body, headers=funded.headers).status_code == 200

    with recorded_statements(app) as statements:
        response = consume(client, funded, 2, "crosses-the-threshold")

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["balance"] == 98
    sent = [
        (engine, sql.split("(")[0])
        for engine, sql in statements
        if not sql.startswith("PREPARE")  # each statement's first use on a connection
    ]
    assert sent[0] == ("autocommit", "EXECUTE billing_charge_usage_alone")
    assert ("session", "EXECUTE billing_charge_usage") in sent
    [job] = jobs(app, AUTO_RELOAD_TASK)
    assert job["args"] == {"user_id": str(funded.id)}
    with app.app_context():
        entries = db.session.scalars(
            text("SELECT amount FROM token_transactions WHERE transaction_type = 'usage'")
        ).all()
    assert entries == [-2]  # charged once


def test_a_balance_read_is_one_autocommit_statement(
    app: BillingApp, client: FlaskClient, funded: RegisteredUser
) -> None:
    with recorded_statements(app) as first:
        client.get("/api/v1/user/tokens/balance", headers=funded.headers)
    with recorded_statements(app) as statements:
        response = client.get("/api/v1/user/tokens/balance", headers=funded.headers)

    assert response.status_code == 200
    assert response.get_json()["balance"] == 100
    assert [sql.split(" AS ")[0] for _, sql in first] == [
        "PREPARE billing_balance (uuid)",  # once per pooled connection
        "EXECUTE billing_balance(%s)",
    ]
    assert "FROM user_token_balances" in first[0][1]
    assert statements == [("autocommit", "EXECUTE billing_balance(%s)")]


def test_only_a_refused_consume_reads_why_in_a_second_statement(
    app: BillingApp, client: FlaskClient, funded: RegisteredUser, count_rows: Any
) -> None:
    """The charge returns no reasons; a refusal reads them afterwards, on its own trip, and
    still answers the full path's 402 with the balance it saw. A charge never reads them."""
    assert consume(client, funded, 1, "warm-up").status_code == 201

    with recorded_statements(app) as refused_statements:
        refused = consume(client, funded, 100, "too-big")
    with recorded_statements(app) as charged_statements:
        charged = consume(client, funded, 99, "all-of-it")

    assert refused.status_code == 402, refused.get_json()
    assert refused.get_json()["error"]["details"] == {"balance": 99, "required": 100}
    sent = [(engine, sql.split("(")[0]) for engine, sql in refused_statements]
    assert sent == [
        ("autocommit", "EXECUTE billing_charge_usage_alone"),
        ("autocommit", "PREPARE billing_charge_diagnosis "),  # its first use on the connection
        ("autocommit", "EXECUTE billing_charge_diagnosis"),
    ]
    assert charged.status_code == 201 and charged.get_json()["balance"] == 0
    assert [sql.split("(")[0] for _, sql in charged_statements] == [
        "EXECUTE billing_charge_usage_alone"
    ]
    assert count_rows(TokenUsage) == 2  # the warm-up and the last one: the refusal wrote none


def test_the_transaction_form_reads_a_refusals_reasons_in_its_own_transaction(
    app: BillingApp, client: FlaskClient, funded: RegisteredUser, demo_catalog: dict[str, Any]
) -> None:
    """The form the handler runs under an armed threshold returns the threshold with a charge;
    when it charges nothing, the diagnosis runs on the same connection, in that transaction."""
    body = {"enabled": True, "threshold": 40, "bundle_id": str(demo_catalog["tokens-50"])}
    reload_url = "/api/v1/user/tokens/auto-reload"
    assert client.put(reload_url, json=body, headers=funded.headers).status_code == 200

    def request(amount: int, reference: str) -> ChargeRequest:
        return ChargeRequest(
            usage_id=uuid.uuid4(),
            entry_id=uuid.uuid4(),
            user_id=funded.id,
            amount=amount,
            reference=reference,
            description=None,
            ledger_description=f"Use {reference}",
            api_key_id=None,
            now=utc_now(),
        )

    with recorded_statements(app) as statements, app.app_context():
        session: SessionProxy = db.session  # type: ignore[assignment]  # a subclass
        charges = UsageChargeRepository(session, db.engines[READ_BIND])
        refused = charges.charge_in_transaction(request(101, "too-big"))
        charged = charges.charge_in_transaction(request(70, "crosses"))
        db.session.rollback()

    assert not refused.charged
    assert (refused.snapshot_balance, refused.snapshot_held) == (100, 0)
    assert (refused.reference_seen, refused.covered_by_subscription) == (False, False)
    assert refused.trial_remaining == 0 and refused.reload_threshold == 40
    assert (charged.balance, charged.reload_threshold) == (30, 40)
    sent = [(engine, sql.split("(")[0]) for engine, sql in statements if sql.startswith("EXECUTE")]
    assert sent == [
        ("session", "EXECUTE billing_charge_usage"),
        ("session", "EXECUTE billing_charge_diagnosis"),
        ("session", "EXECUTE billing_charge_usage"),
    ]
    assert api_balance(client, funded) == 100  # rolled back: nothing was kept


def test_a_replay_takes_the_full_path_and_answers_the_first_charge(
    app: BillingApp, client: FlaskClient, funded: RegisteredUser
) -> None:
    first = consume(client, funded, 4, "again")
    with recorded_statements(app) as statements:
        again = consume(client, funded, 4, "again")

    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert statements[0][1].startswith("EXECUTE billing_charge_usage_alone(")  # saw it
    assert len(statements) > 1  # then the full path read the first use


def test_two_retries_of_one_reference_queued_on_the_balance_lock_charge_once(
    app: BillingApp, funded: RegisteredUser, count_rows: Any
) -> None:
    """Both requests take their snapshot before the first commits, so both see the
    reference free: the loser's INSERT of the usage fails on the unique index, its whole
    statement (debit and ledger entry included) is undone, and its command runs again and
    replays the winner."""
    url = database_url(app)
    answers: list[Any] = [None, None]

    def send(index: int) -> None:
        answers[index] = consume(app.test_client(), funded, 3, "queued-twice")

    with row_lock(url, LOCK_BALANCE, (str(funded.id),)):
        threads = [threading.Thread(target=send, args=(index,)) for index in range(2)]
        for thread in threads:
            thread.start()
        wait_for_lock_waiters(url, 2)
    for thread in threads:
        thread.join(timeout=30)

    assert [answer.status_code for answer in answers] == [201, 201]
    assert answers[0].get_json()["usage_id"] == answers[1].get_json()["usage_id"]
    assert count_rows(TokenUsage) == 1
    with app.app_context():
        entries = db.session.scalars(
            text("SELECT amount FROM token_transactions WHERE transaction_type = 'usage'")
        ).all()
        balance = db.session.scalar(
            text("SELECT balance FROM user_token_balances WHERE user_id = :id"),
            {"id": funded.id},
        )
    assert entries == [-3] and balance == 97


def test_a_consume_for_a_deleted_account_is_401_and_writes_nothing(
    app: BillingApp, client: FlaskClient, user: RegisteredUser, count_rows: Any
) -> None:
    with app.app_context():
        for table in ("user_token_balances", "users"):
            key = "id" if table == "users" else "user_id"
            db.session.execute(text(f"DELETE FROM {table} WHERE {key} = :id"), {"id": user.id})
        db.session.commit()

    response = consume(client, user, 1, "gone")

    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_token"
    assert count_rows(TokenUsage) == 0 and count_rows(TokenTransaction) == 0


def wait_for_lock_waiters(url: str, count: int, timeout: float = 15) -> None:
    """Until ``count`` backends of this database wait on a lock (the queued requests)."""
    connection = psycopg2.connect(url)
    connection.autocommit = True
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'"
                )
                row = cursor.fetchone()
            if row is not None and row[0] >= count:
                return
            time.sleep(0.02)
    finally:
        connection.close()
    raise AssertionError(f"fewer than {count} requests queued on the balance lock")


def api_balance(client: FlaskClient, user: RegisteredUser) -> int:
    response = client.get("/api/v1/user/tokens/balance", headers=user.headers)
    assert response.status_code == 200
    return int(response.get_json()["balance"])
