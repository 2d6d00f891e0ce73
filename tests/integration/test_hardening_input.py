"""Hostile request bodies (issue 13): each is a 4xx with a stable code, and changes nothing.

Every test goes through the HTTP test client against PostgreSQL and checks, besides the
status and the code, that no row, balance or ledger entry moved.
"""

import json
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from werkzeug.test import TestResponse

from src.app import BillingApp
from src.extensions import db
from src.models.invoice import Invoice
from src.models.payment import Payment, WebhookEvent
from src.models.token_ledger import TokenTransaction
from src.models.token_usage import TokenUsage
from src.models.user import User
from src.repositories.base import SessionProxy
from src.repositories.usage_repository import TokenUsageRepository
from src.repositories.webhook_event_repository import WebhookEventRepository
from src.models.token_usage import UsageSource
from tests.support.api import ApiClient, RegisteredUser
from tests.support.catalog import CatalogBuilder
from tests.support.conflicts import every_ledger_insert_conflicts
from tests.support.tokens import buy_tokens, consume
from tests.support.webhooks import SECRET, capture_payload, post_webhook, signature

JSON = {"Content-Type": "application/json"}
LOGIN = "/api/v1/auth/login"
REGISTER = "/api/v1/auth/register"
CONSUME = "/api/v1/user/tokens/consume"
WEBHOOK = "/api/v1/webhooks/payment"


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    """No trial credits: every consume here is paid from the balance, so it shows."""
    return {**app_settings, "TRIAL_CREDITS": 0}


def post_raw(
    client: FlaskClient, path: str, raw: str | bytes, headers: dict[str, str] | None = None
) -> TestResponse:
    """Send bytes exactly as written (the test client's ``json=`` would re-encode them)."""
    return client.post(path, data=raw, headers={**JSON, **(headers or {})})


def error_code(response: TestResponse) -> str:
    code: str = response.get_json()["error"]["code"]
    return code


def signed(client: FlaskClient, raw: str, *, header: str | None = None) -> TestResponse:
    """POST ``raw`` to the generic webhook with a valid, current signature over it."""
    return post_webhook(client, raw, header=header)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.fixture
def funded(api: ApiClient, user: RegisteredUser, catalog: CatalogBuilder) -> RegisteredUser:
    """A user with 50 purchased tokens."""
    buy_tokens(api, user, catalog.bundle(tokens=50, price="5.00"))
    return user


@pytest.fixture
def invoice(api: ApiClient, user: RegisteredUser, catalog: CatalogBuilder) -> dict[str, Any]:
    """A pending 49.00 USD invoice for 50 tokens."""
    checkout: dict[str, Any] = api.checkout(
        user, token_bundle_ids=(catalog.bundle(tokens=50, price="49.00"),)
    )
    return dict(checkout["invoice"])


def rows(app: BillingApp, model: Any) -> int:
    with app.app_context():
        return len(db.session.scalars(select(model)).all())


def invoice_status(app: BillingApp, invoice_id: str) -> str:
    with app.app_context():
        found = db.session.get(Invoice, uuid.UUID(invoice_id))
        assert found is not None
        return str(found.status.value)


# --- 1. depth, duplicate keys, exact numbers -------------------------------------------


@pytest.mark.parametrize("path", [LOGIN, REGISTER, CONSUME])
def test_json_nested_a_thousand_levels_is_400_not_500(
    app: BillingApp, client: FlaskClient, funded: RegisteredUser, path: str
) -> None:
    users_before = rows(app, User)
    body = '{"email": ' + nested(1000) + "}"
    assert len(body) < 2100

    response = post_raw(client, path, body, funded.headers)

    assert response.status_code == 400
    assert error_code(response) == "json_too_deep"
    assert rows(app, User) == users_before
    assert rows(app, TokenUsage) == 0


def test_json_just_over_the_depth_limit_is_refused_and_within_it_is_read(
    client: FlaskClient, funded: RegisteredUser
) -> None:
    # 33 containers: parses without trouble, refused by the limit (32) all the same.
    too_deep = post_raw(client, CONSUME, '{"amount": 1, "x": ' + nested(32) + "}", funded.headers)
    # 32: the body is read and refused for what it says (an unknown field), not its depth.
    within = post_raw(client, CONSUME, '{"amount": 1, "x": ' + nested(31) + "}", funded.headers)

    assert (too_deep.status_code, error_code(too_deep)) == (400, "json_too_deep")
    assert (within.status_code, error_code(within)) == (400, "validation_failed")


def test_deep_json_in_the_signed_webhook_is_400(
    app: BillingApp, client: FlaskClient, invoice: dict[str, Any]
) -> None:
    response = signed(client, '{"invoice_id": ' + nested(1000) + "}")

    assert (response.status_code, error_code(response)) == (400, "json_too_deep")
    assert rows(app, Payment) == 0
    assert invoice_status(app, invoice["id"]) == "pending"


def test_a_duplicate_key_is_refused_on_a_route(
    app: BillingApp, api: ApiClient, client: FlaskClient, funded: RegisteredUser
) -> None:
    raw = '{"amount": 1, "reference": "dup", "amount": 40}'

    response = post_raw(client, CONSUME, raw, funded.headers)

    assert (response.status_code, error_code(response)) == (400, "duplicate_json_key")
    assert api.balance(funded)["balance"] == 50
    assert rows(app, TokenUsage) == 0


def test_a_duplicate_key_is_refused_in_the_webhook(
    app: BillingApp, client: FlaskClient, invoice: dict[str, Any]
) -> None:
    raw = (
        f'{{"invoice_id": "{invoice["id"]}", "payment_reference": "P-D", "amount": "1.00", '
        f'"currency": "USD", "amount": "49.00"}}'
    )

    response = signed(client, raw)

    assert (response.status_code, error_code(response)) == (400, "duplicate_json_key")
    assert rows(app, Payment) == 0
    assert invoice_status(app, invoice["id"]) == "pending"


@pytest.mark.parametrize("amount", ["49.000000000000001", "4.90000000000000001e1", "49.001"])
def test_the_webhook_reads_numbers_exactly_and_never_rounds_them_to_the_total(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    invoice: dict[str, Any],
    amount: str,
) -> None:
    raw = (
        f'{{"invoice_id": "{invoice["id"]}", "payment_reference": "P-F", '
        f'"amount": {amount}, "currency": "USD"}}'
    )

    response = signed(client, raw)

    assert (response.status_code, error_code(response)) == (400, "validation_failed")
    assert rows(app, Payment) == 0
    assert invoice_status(app, invoice["id"]) == "pending"
    assert api.balance(user)["balance"] == 0


# --- 2. control characters -------------------------------------------------------------


def admin_adjust(client: FlaskClient, admin: RegisteredUser, user_id: Any, **body: Any) -> Any:
    return client.post(
        f"/api/v1/admin/users/{user_id}/tokens/adjust", json=body, headers=admin.headers
    )


@pytest.mark.parametrize("bad", ["\u0000", "\u0007", "\u001b", "\u007f", "\ud800"])
def test_control_characters_are_refused_everywhere_a_string_reaches_postgres(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    funded: RegisteredUser,
    admin: RegisteredUser,
    invoice: dict[str, Any],
    bad: str,
) -> None:
    users_before = rows(app, User)
    ledger_before = rows(app, TokenTransaction)
    attempts = [
        client.post(LOGIN, json={"email": f"a{bad}@example.com", "password": "x" * 10}),
        client.post(REGISTER, json={"email": f"a{bad}b@example.com", "password": "x" * 10}),
        consume(client, funded, 1, f"ref{bad}"),
        consume(client, funded, 1, "ref-ok", description=f"desc{bad}"),
        admin_adjust(client, admin, funded.id, amount=5, reason=f"why{bad}"),
        client.post(
            f"/api/v1/admin/invoices/{invoice['id']}/mark-paid",
            json={"payment_reference": f"BANK{bad}"},
            headers=admin.headers,
        ),
        client.post(
            f"/api/v1/admin/invoices/{invoice['id']}/mark-paid",
            json={"payment_reference": "BANK-9", "note": f"note{bad}"},
            headers=admin.headers,
        ),
        signed(client, json.dumps(capture_payload(invoice, reference=f"PAY{bad}"))),
    ]

    assert [(r.status_code, error_code(r)) for r in attempts] == [
        (400, "invalid_characters")
    ] * len(attempts)
    assert rows(app, User) == users_before
    assert rows(app, TokenUsage) == 0
    assert rows(app, TokenTransaction) == ledger_before
    assert rows(app, Payment) == 1  # the funding purchase only
    assert invoice_status(app, invoice["id"]) == "pending"
    assert api.balance(funded)["balance"] == 50


def test_tab_line_feed_and_carriage_return_are_allowed_in_free_text(
    api: ApiClient, client: FlaskClient, funded: RegisteredUser
) -> None:
    response = consume(client, funded, 1, "multi-line", description="one\ttwo\r\nthree")

    assert response.status_code == 201, response.get_json()
    assert api.balance(funded)["balance"] == 49


# --- 3. integer bounds -----------------------------------------------------------------


@pytest.mark.parametrize("amount", [2_147_483_648, -2_147_483_648, 10**30])
def test_an_adjustment_beyond_the_integer_range_is_400(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    funded: RegisteredUser,
    admin: RegisteredUser,
    amount: int,
) -> None:
    ledger_before = rows(app, TokenTransaction)

    response = admin_adjust(client, admin, funded.id, amount=amount, reason="too much")

    assert (response.status_code, error_code(response)) == (400, "validation_failed")
    assert api.balance(funded)["balance"] == 50
    assert rows(app, TokenTransaction) == ledger_before


def test_a_balance_at_its_limit_refuses_more_with_4xx_and_capture_requires_refund(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    admin: RegisteredUser,
    catalog: CatalogBuilder,
) -> None:
    near_limit = 2_147_483_647 - 10
    assert admin_adjust(client, admin, user.id, amount=near_limit, reason="big").status_code == 200
    bundle = catalog.bundle(tokens=50, price="5.00")
    by_webhook = api.checkout(user, token_bundle_ids=(bundle,))["invoice"]
    by_admin = api.checkout(user, token_bundle_ids=(bundle,))["invoice"]

    adjusted = admin_adjust(client, admin, user.id, amount=11, reason="one too many")
    captured = post_webhook(client, capture_payload(by_webhook, reference="PAY-LIMIT"))
    marked = client.post(
        f"/api/v1/admin/invoices/{by_admin['id']}/mark-paid",
        json={"payment_reference": "BANK-LIMIT"},
        headers=admin.headers,
    )

    assert (adjusted.status_code, error_code(adjusted)) == (422, "balance_limit_exceeded")
    # Money a provider confirmed is never refused: kept once, to refund, nothing granted.
    assert captured.status_code == 200
    assert captured.get_json()["status"] == "requires_refund"
    assert captured.get_json()["reason"] == "balance_limit_exceeded"
    assert (marked.status_code, error_code(marked)) == (422, "balance_limit_exceeded")
    assert api.balance(user)["balance"] == near_limit
    assert invoice_status(app, by_webhook["id"]) == "pending"
    assert invoice_status(app, by_admin["id"]) == "pending"


def test_the_columns_keep_the_schemas_bounds(
    app: BillingApp, client: FlaskClient, funded: RegisteredUser
) -> None:
    """A path that skips the schema still cannot store more than a request may ask for."""
    assert consume(client, funded, 1, "bounded").status_code == 201
    assert consume(client, funded, 1_000_001, "too-big").status_code == 400
    with app.app_context():
        with pytest.raises(IntegrityError, match="ck_token_usages_requested_amount_max"):
            db.session.execute(text("UPDATE token_usages SET requested_amount = 1000001"))
        db.session.rollback()
        used = db.session.scalars(select(TokenUsage.requested_amount)).all()
    assert used == [1]


# --- 5. size and methods ---------------------------------------------------------------


@pytest.mark.parametrize("path", [REGISTER, WEBHOOK])
def test_a_body_over_the_size_limit_is_a_json_413(
    app: BillingApp, client: FlaskClient, path: str
) -> None:
    users_before = rows(app, User)
    body = '{"email": "' + "a" * (1024 * 1024) + '@example.com", "password": "long-enough"}'

    response = post_raw(client, path, body, {"X-Webhook-Signature": signature(body)})

    assert response.status_code == 413
    assert response.is_json
    assert error_code(response) == "payload_too_large"
    assert rows(app, User) == users_before
    assert rows(app, Payment) == 0


def test_a_wrong_method_is_a_json_405_with_allow(client: FlaskClient) -> None:
    response = client.get(LOGIN)

    assert response.status_code == 405
    assert error_code(response) == "method_not_allowed"
    assert "POST" in {method.strip() for method in response.headers["Allow"].split(",")}


# --- 6. strict types and canonical money -----------------------------------------------


@pytest.mark.parametrize("amount", [True, "1", 1.5, [1], None])
def test_consume_takes_only_a_json_integer(
    app: BillingApp, api: ApiClient, client: FlaskClient, funded: RegisteredUser, amount: Any
) -> None:
    response = client.post(
        CONSUME, json={"amount": amount, "reference": "typed"}, headers=funded.headers
    )

    assert (response.status_code, error_code(response)) == (400, "validation_failed")
    assert api.balance(funded)["balance"] == 50
    assert rows(app, TokenUsage) == 0


@pytest.mark.parametrize("enabled", ["yes", "true", 1, 0])
def test_auto_reload_takes_only_a_json_boolean(
    client: FlaskClient, user: RegisteredUser, catalog: CatalogBuilder, enabled: Any
) -> None:
    url = "/api/v1/user/tokens/auto-reload"
    body = {"enabled": enabled, "threshold": 5, "bundle_id": str(catalog.bundle())}

    response = client.put(url, json=body, headers=user.headers)

    assert (response.status_code, error_code(response)) == (400, "validation_failed")
    assert client.get(url, headers=user.headers).status_code == 404


def test_mark_paid_force_takes_only_a_json_boolean(
    app: BillingApp, client: FlaskClient, admin: RegisteredUser, invoice: dict[str, Any]
) -> None:
    response = client.post(
        f"/api/v1/admin/invoices/{invoice['id']}/mark-paid",
        json={"payment_reference": "BANK-F", "force": "yes"},
        headers=admin.headers,
    )

    assert (response.status_code, error_code(response)) == (400, "validation_failed")
    assert invoice_status(app, invoice["id"]) == "pending"


NOT_CANONICAL = ["4_9.00", "٤٩.٠٠", " 49.00 ", "49.00\n", "4.9e1", "+49.00", "49.000", "49."]


@pytest.mark.parametrize("amount", NOT_CANONICAL)
def test_the_webhook_takes_only_canonical_money_strings(
    app: BillingApp, client: FlaskClient, invoice: dict[str, Any], amount: str
) -> None:
    response = signed(client, json.dumps(capture_payload(invoice, amount=amount)))

    assert (response.status_code, error_code(response)) == (400, "validation_failed")
    assert rows(app, Payment) == 0
    assert invoice_status(app, invoice["id"]) == "pending"


@pytest.mark.parametrize("amount", ["1_0", "١٠", " 1.00 ", "10.001", True, "-1.00"])
def test_a_refund_takes_only_canonical_money(
    app: BillingApp,
    client: FlaskClient,
    user: RegisteredUser,
    admin: RegisteredUser,
    invoice: dict[str, Any],
    amount: Any,
) -> None:
    payment = client.post(
        f"/api/v1/user/invoices/{invoice['id']}/pay",
        json={"provider": "manual"},
        headers=user.headers,
    ).get_json()
    paid = client.post(
        f"/api/v1/admin/invoices/{invoice['id']}/mark-paid",
        json={"payment_reference": "BANK-R"},
        headers=admin.headers,
    )
    assert paid.status_code == 200, paid.get_json()

    response = client.post(
        f"/api/v1/admin/payments/{payment['payment_id']}/refund",
        json={"amount": amount},
        headers=admin.headers,
    )

    assert (response.status_code, error_code(response)) == (400, "validation_failed")
    detail = client.get(f"/api/v1/admin/payments/{payment['payment_id']}", headers=admin.headers)
    assert detail.get_json()["refunds"] == []
    assert detail.get_json()["refunded_amount"] == "0.00"


# --- 7. the signature's timestamp ------------------------------------------------------


def test_a_second_timestamp_cannot_smuggle_an_old_signature_past_the_window(
    app: BillingApp, client: FlaskClient, invoice: dict[str, Any]
) -> None:
    body = json.dumps(capture_payload(invoice))
    old = int(time.time()) - 3600
    old_signature = signature(body, SECRET, old).split("v1=")[1]
    now = int(time.time())
    headers = [
        f"x=1, t={now},t={old},v1={old_signature}",
        f"t={now},t={old},v1={old_signature}",
        f"t={old},t={now},v1={old_signature}",
        f"t={old}, v1={old_signature}",
        f"t={old},v1={old_signature},",
    ]

    answers = [signed(client, body, header=header) for header in headers]

    assert [(r.status_code, error_code(r)) for r in answers] == [
        (400, "malformed_signature_header")
    ] * len(headers)
    replay = signed(client, body, header=f"t={old},v1={old_signature}")
    assert (replay.status_code, error_code(replay)) == (401, "invalid_signature")
    assert rows(app, Payment) == 0
    assert invoice_status(app, invoice["id"]) == "pending"


# --- 8. only unique violations are duplicates ------------------------------------------


def test_claims_treat_only_unique_violations_as_duplicates(
    app: BillingApp, client: FlaskClient, funded: RegisteredUser
) -> None:
    """A foreign-key or NOT NULL failure is not "already done": it propagates, so nothing
    (a consume, a webhook) is answered as a duplicate when it was never recorded."""
    assert consume(client, funded, 1, "taken").status_code == 201
    with app.app_context():
        usages = TokenUsageRepository(cast(SessionProxy, db.session))
        twin = TokenUsage(
            user_id=funded.id, reference="taken", requested_amount=1, source=UsageSource.TOKENS
        )
        assert usages.try_claim(twin) is False
        orphan = TokenUsage(
            user_id=uuid.uuid4(), reference="x", requested_amount=1, source=UsageSource.TOKENS
        )
        with pytest.raises(IntegrityError) as foreign_key:
            usages.try_claim(orphan)
        assert getattr(foreign_key.value.orig, "pgcode", None) == "23503"
        db.session.rollback()

        events = WebhookEventRepository(cast(SessionProxy, db.session))
        assert events.record_first_delivery("stripe", "evt_1", "payment_intent.succeeded")
        assert events.record_first_delivery("stripe", "evt_1", "payment_intent.succeeded") is False
        with pytest.raises(IntegrityError) as not_null:
            events.record_first_delivery("stripe", "evt_2", None)  # type: ignore[arg-type]
        assert getattr(not_null.value.orig, "pgcode", None) == "23502"
        db.session.rollback()
        assert db.session.scalars(select(WebhookEvent)).all() == []


# --- 9. conflicts: retried, then 503 ---------------------------------------------------


def test_a_command_that_keeps_conflicting_is_tried_three_times_then_503(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    funded: RegisteredUser,
    admin: RegisteredUser,
) -> None:
    ledger_before = rows(app, TokenTransaction)
    with every_ledger_insert_conflicts(app) as fired:
        response = admin_adjust(client, admin, funded.id, amount=5, reason="bonus")
        attempts = fired()

    assert attempts == 3
    assert (response.status_code, error_code(response)) == (503, "database_conflict")
    assert response.headers["Retry-After"] == "1"
    assert api.balance(funded)["balance"] == 50
    assert rows(app, TokenTransaction) == ledger_before


def _wait_until_waiting_on_a_lock(app: BillingApp, statement_prefix: str) -> None:
    """Block until a backend running ``statement_prefix`` waits on a lock (a condition read
    from PostgreSQL, polled; bounded so a broken test fails instead of hanging)."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND query LIKE :prefix"
    )
    deadline = time.monotonic() + 15
    with app.app_context(), db.engine.connect() as watcher:
        while time.monotonic() < deadline:
            if watcher.execute(query, {"prefix": statement_prefix + "%"}).scalar():
                return
            watcher.rollback()
    raise AssertionError(f"nothing started waiting on a lock in {statement_prefix!r}")


def test_a_deadlock_victim_is_retried_and_succeeds(
    app: BillingApp,
    api: ApiClient,
    funded: RegisteredUser,
    admin: RegisteredUser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A real deadlock between the adjust command and another connection: PostgreSQL aborts
    the command (it waited first, so its deadlock check runs first); the dispatcher runs it
    again, and the retry succeeds once the other transaction has committed."""
    caplog.set_level(logging.WARNING, logger="src.events.dispatcher")
    with app.app_context():
        engine = db.engine
    blocker = engine.connect()
    try:
        # 1. Hold the user row, which the ledger insert's foreign key must share-lock.
        blocker.execute(text("SELECT id FROM users WHERE id = :id FOR UPDATE"), {"id": funded.id})
        with ThreadPoolExecutor(max_workers=1) as pool:
            answer = pool.submit(
                lambda: admin_adjust(
                    app.test_client(), admin, funded.id, amount=5, reason="deadlocked"
                )
            )
            # 2. The command has updated the balance row and now waits for the user row.
            _wait_until_waiting_on_a_lock(app, "INSERT INTO token_transactions")
            # 3. Close the cycle: the balance row the command holds.
            blocker.execute(
                text("SELECT user_id FROM user_token_balances WHERE user_id = :id FOR UPDATE"),
                {"id": funded.id},
            )
            blocker.commit()
            response = answer.result(timeout=60)
    finally:
        blocker.close()

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["balance"] == 55
    assert api.balance(funded)["balance"] == 55
    retries = [r.getMessage() for r in caplog.records if "lost a conflict" in r.getMessage()]
    assert len(retries) == 1 and "40P01" in retries[0], retries
