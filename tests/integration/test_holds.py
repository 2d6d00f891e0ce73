"""Holds: reserve tokens, then settle or release them; expiry by ``run-due --now``; exactly one
of settle, release and expiry wins; only the key that placed a hold closes it."""

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select, update

from src.app import BillingApp
from src.clock import utc_now
from src.events.hold_events import ExpiredHoldsReleaseRequestedEvent
from src.extensions import db
from src.models.token_hold import HoldStatus, TokenHold
from src.models.token_ledger import TokenTransaction, TokenTransactionType, UserTokenBalance
from src.models.token_usage import TokenUsage
from tests.support.api import ApiClient, RegisteredUser
from tests.support.concurrency import run_concurrently


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    return {**app_settings, "TRIAL_CREDITS": 0}


def create_key(runner: FlaskCliRunner, name: str) -> str:
    result = runner.invoke(args=["apikeys", "create", name])
    assert result.exit_code == 0, result.output
    key: str = result.output.strip().splitlines()[-1]
    return key


@pytest.fixture
def api_key(runner: FlaskCliRunner) -> str:
    return create_key(runner, "render-farm")


def fund(client: FlaskClient, admin: RegisteredUser, user: RegisteredUser, amount: int) -> None:
    response = client.post(
        f"/api/v1/admin/users/{user.id}/tokens/adjust",
        json={"amount": amount, "reason": "test funds"},
        headers=admin.headers,
    )
    assert response.status_code in (200, 201), response.get_json()


@pytest.fixture
def funded(client: FlaskClient, admin: RegisteredUser, user: RegisteredUser) -> RegisteredUser:
    fund(client, admin, user, 100)
    return user


def base(user: RegisteredUser) -> str:
    return f"/api/v1/service/users/{user.id}/tokens/holds"


def hold(
    client: FlaskClient, key: str, user: RegisteredUser, amount: int, ref: str, **extra: Any
) -> Any:
    return client.post(
        base(user), json={"amount": amount, "reference": ref, **extra}, headers={"X-API-Key": key}
    )


def settle(client: FlaskClient, key: str, user: RegisteredUser, hold_id: str, amount: int) -> Any:
    return client.post(
        f"{base(user)}/{hold_id}/settle", json={"amount": amount}, headers={"X-API-Key": key}
    )


def release(client: FlaskClient, key: str, user: RegisteredUser, hold_id: str) -> Any:
    return client.post(f"{base(user)}/{hold_id}/release", headers={"X-API-Key": key})


def run_due(runner: FlaskCliRunner, now: datetime) -> dict[str, Any]:
    result = runner.invoke(args=["billing", "run-due", "--now", now.isoformat()])
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads(result.output)
    return summary


def test_a_hold_reserves_then_a_settle_charges_less_and_returns_the_rest(
    app: BillingApp, api: ApiClient, client: FlaskClient, funded: RegisteredUser, api_key: str
) -> None:
    placed = hold(client, api_key, funded, 30, "render-1")
    assert placed.status_code == 201, placed.get_json()
    body = placed.get_json()
    assert (body["status"], body["source"], body["held_tokens"]) == ("open", "tokens", 30)
    assert (body["balance"], body["available"], body["held"]) == (100, 70, 30)
    assert api.balance(funded) == {
        "balance": 100,
        "available": 70,
        "held": 30,
        "total_purchased": 0,
        "total_spent": 0,
    }

    settled = settle(client, api_key, funded, body["id"], 12)
    assert settled.status_code == 200, settled.get_json()
    out = settled.get_json()
    assert (out["status"], out["settled_tokens"]) == ("settled", 12)
    assert (out["balance"], out["available"], out["held"]) == (88, 88, 0)
    assert api.balance(funded) == {"balance": 88, "total_purchased": 0, "total_spent": 12}
    with app.app_context():
        kinds = db.session.scalars(
            select(TokenTransaction.transaction_type).order_by(TokenTransaction.sequence)
        ).all()
        usage = db.session.get(TokenUsage, uuid.UUID(out["usage_id"]))
        assert usage is not None and usage.charged_tokens == 12
    assert kinds == [
        TokenTransactionType.BONUS,
        TokenTransactionType.HOLD,
        TokenTransactionType.USAGE,
    ]

    # the same settle replays; anything else on a settled hold is 409 hold_closed
    again = settle(client, api_key, funded, body["id"], 12)
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    for late in (
        settle(client, api_key, funded, body["id"], 5),
        release(client, api_key, funded, body["id"]),
    ):
        assert late.status_code == 409 and late.get_json()["error"]["code"] == "hold_closed"


def test_settling_more_than_held_is_refused(
    client: FlaskClient, funded: RegisteredUser, api_key: str
) -> None:
    hold_id = hold(client, api_key, funded, 10, "r").get_json()["id"]
    too_much = settle(client, api_key, funded, hold_id, 11)
    assert too_much.status_code == 422
    assert too_much.get_json()["error"]["code"] == "settle_exceeds_hold"


def test_release_returns_everything_and_replays(
    api: ApiClient, client: FlaskClient, funded: RegisteredUser, api_key: str
) -> None:
    hold_id = hold(client, api_key, funded, 40, "r").get_json()["id"]
    released = release(client, api_key, funded, hold_id)
    assert released.status_code == 200 and released.get_json()["status"] == "released"
    assert api.balance(funded) == {"balance": 100, "total_purchased": 0, "total_spent": 0}
    replay = release(client, api_key, funded, hold_id)
    assert replay.status_code == 200 and replay.headers.get("Idempotent-Replayed") == "true"
    assert settle(client, api_key, funded, hold_id, 1).status_code == 409


def test_short_is_402_with_available_and_required(
    client: FlaskClient, funded: RegisteredUser, api_key: str, count_rows: Any
) -> None:
    assert hold(client, api_key, funded, 60, "a").status_code == 201
    short = hold(client, api_key, funded, 41, "b")
    assert short.status_code == 402
    error = short.get_json()["error"]
    assert error["code"] == "insufficient_tokens"
    assert error["details"] == {"available": 40, "required": 41}
    assert count_rows(TokenHold) == 1


def test_consume_cannot_spend_held_tokens(
    client: FlaskClient, funded: RegisteredUser, api_key: str
) -> None:
    assert hold(client, api_key, funded, 90, "a").status_code == 201
    used = client.post(
        f"/api/v1/service/users/{funded.id}/tokens/consume",
        json={"amount": 11, "reference": "c"},
        headers={"X-API-Key": api_key},
    )
    assert used.status_code == 402


def test_the_same_reference_replays_and_another_amount_is_422(
    client: FlaskClient, funded: RegisteredUser, api_key: str, count_rows: Any
) -> None:
    first = hold(client, api_key, funded, 5, "same")
    again = hold(client, api_key, funded, 5, "same")
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert hold(client, api_key, funded, 6, "same").status_code == 422
    assert count_rows(TokenHold) == 1


def test_expires_in_is_bounded(client: FlaskClient, funded: RegisteredUser, api_key: str) -> None:
    assert hold(client, api_key, funded, 1, "a", expires_in=86_401).status_code == 400
    assert hold(client, api_key, funded, 1, "b", expires_in=0).status_code == 400
    ok = hold(client, api_key, funded, 1, "c", expires_in=86_400)
    assert ok.status_code == 201


def test_expiry_by_run_due_now_releases_what_is_due_and_nothing_else(
    api: ApiClient,
    client: FlaskClient,
    runner: FlaskCliRunner,
    funded: RegisteredUser,
    api_key: str,
) -> None:
    start = utc_now()
    short = hold(client, api_key, funded, 10, "short", expires_in=60).get_json()["id"]
    long = hold(client, api_key, funded, 20, "long").get_json()["id"]  # 900 s

    assert run_due(runner, start + timedelta(seconds=30))["tokens.release_expired_holds"] == 0
    assert run_due(runner, start + timedelta(minutes=5))["tokens.release_expired_holds"] == 1
    assert api.balance(funded)["held"] == 20
    late = settle(client, api_key, funded, short, 1)
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "hold_closed"
    assert run_due(runner, start + timedelta(hours=1))["tokens.release_expired_holds"] == 1
    assert api.balance(funded) == {"balance": 100, "total_purchased": 0, "total_spent": 0}
    assert release(client, api_key, funded, long).status_code == 409


def test_only_the_key_that_placed_a_hold_closes_it(
    client: FlaskClient, runner: FlaskCliRunner, funded: RegisteredUser, api_key: str
) -> None:
    other = create_key(runner, "another-backend")
    hold_id = hold(client, api_key, funded, 10, "r").get_json()["id"]
    for response in (
        settle(client, other, funded, hold_id, 5),
        release(client, other, funded, hold_id),
    ):
        assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"
    assert release(client, api_key, funded, hold_id).status_code == 200


def test_a_hold_of_another_user_is_404(
    client: FlaskClient, api: ApiClient, funded: RegisteredUser, api_key: str
) -> None:
    hold_id = hold(client, api_key, funded, 10, "r").get_json()["id"]
    stranger = api.register()
    assert release(client, api_key, stranger, hold_id).status_code == 404


def test_fifty_holds_racing_on_a_balance_that_fits_twenty(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    admin: RegisteredUser,
    user: RegisteredUser,
    api_key: str,
    count_rows: Any,
) -> None:
    fund(client, admin, user, 60)
    responses = run_concurrently(app, 50, lambda c, i: hold(c, api_key, user, 3, f"race-{i}"))
    codes = sorted(response.status_code for response in responses)
    assert codes == [201] * 20 + [402] * 30
    assert count_rows(TokenHold) == 20
    assert api.balance(user) == {
        "balance": 60,
        "available": 0,
        "held": 60,
        "total_purchased": 0,
        "total_spent": 0,
    }


def test_settle_release_and_expiry_racing_have_one_winner(
    app: BillingApp, client: FlaskClient, funded: RegisteredUser, api_key: str
) -> None:
    future = utc_now() + timedelta(hours=2)
    for round_ in range(8):
        hold_id = hold(client, api_key, funded, 5, f"race-{round_}").get_json()["id"]

        def contender(c: FlaskClient, index: int) -> bool:
            if index == 0:
                return bool(settle(c, api_key, funded, hold_id, 3).status_code == 200)
            if index == 1:
                return bool(release(c, api_key, funded, hold_id).status_code == 200)
            with app.app_context():
                event = ExpiredHoldsReleaseRequestedEvent(as_of=future)
                return bool(app.container.dispatcher().emit(event).data == 1)

        wins = run_concurrently(app, 3, contender)
        assert sum(wins) == 1, wins
        with app.app_context():
            row = db.session.get(TokenHold, uuid.UUID(hold_id))
            assert row is not None and row.status is not HoldStatus.OPEN


def test_reconcile_checks_held_against_open_holds(
    app: BillingApp,
    client: FlaskClient,
    runner: FlaskCliRunner,
    funded: RegisteredUser,
    api_key: str,
) -> None:
    hold(client, api_key, funded, 10, "a")
    hold(client, api_key, funded, 15, "b")
    clean = runner.invoke(args=["tokens", "reconcile"])
    assert clean.exit_code == 0, clean.output

    with app.app_context():
        db.session.execute(
            update(UserTokenBalance).where(UserTokenBalance.user_id == funded.id).values(held=5)
        )
        db.session.commit()
    broken = runner.invoke(args=["tokens", "reconcile"])
    assert broken.exit_code == 1
    assert f"{funded.id}" in broken.output and "held=5 open_holds=25" in broken.output
    with app.app_context():  # put it back for the ledger invariant fixture
        db.session.execute(
            update(UserTokenBalance).where(UserTokenBalance.user_id == funded.id).values(held=25)
        )
        db.session.commit()


def test_an_admin_releases_any_hold_and_a_user_cannot(
    api: ApiClient,
    client: FlaskClient,
    admin: RegisteredUser,
    funded: RegisteredUser,
    api_key: str,
) -> None:
    hold_id = hold(client, api_key, funded, 10, "r").get_json()["id"]
    url = f"/api/v1/admin/users/{funded.id}/tokens/holds/{hold_id}/release"
    assert client.post(url, headers=funded.headers).status_code == 403
    released = client.post(url, headers=admin.headers)
    assert released.status_code == 200 and released.get_json()["status"] == "released"
    assert api.balance(funded) == {"balance": 100, "total_purchased": 0, "total_spent": 0}
