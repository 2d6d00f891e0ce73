"""Trusted backends spend for users with an API key; admins adjust balances; the ledger is
reconciled by a command."""

import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select, update

from src.app import BillingApp
from src.extensions import db
from src.models.api_key import ApiKey
from src.models.token_ledger import TokenTransaction, UserTokenBalance
from src.models.token_usage import TokenUsage
from tests.support.api import ApiClient, RegisteredUser
from tests.support.tokens import buy_tokens


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    return {**app_settings, "TRIAL_CREDITS": 0}


@pytest.fixture
def api_key(runner: FlaskCliRunner) -> str:
    result = runner.invoke(args=["apikeys", "create", "render-farm"])
    assert result.exit_code == 0, result.output
    key: str = result.output.strip().splitlines()[-1]
    return key


def service_consume(client: FlaskClient, key: str | None, user_id: Any, **body: Any) -> Any:
    headers = {"X-API-Key": key} if key is not None else {}
    return client.post(
        f"/api/v1/service/users/{user_id}/tokens/consume",
        json={"amount": 3, "reference": "svc-1", **body},
        headers=headers,
    )


def test_a_backend_spends_and_refunds_for_a_user(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    api_key: str,
    demo_catalog: dict[str, Any],
) -> None:
    buy_tokens(api, user, demo_catalog["tokens-50"])
    used = service_consume(client, api_key, user.id)
    assert used.status_code == 201 and used.get_json()["balance"] == 47
    assert service_consume(client, api_key, user.id).get_json() == used.get_json()  # replay

    refund = client.post(
        f"/api/v1/service/users/{user.id}/tokens/usages/{used.get_json()['usage_id']}/refund",
        json={"reason": "render failed"},
        headers={"X-API-Key": api_key},
    )
    assert refund.status_code == 200 and refund.get_json()["balance"] == 50
    with app.app_context():
        usage = db.session.scalar(select(TokenUsage))
        key = db.session.scalar(select(ApiKey))
        assert usage is not None and key is not None and usage.api_key_id == key.id


def test_keys_are_stored_as_digests_only(app: BillingApp, api_key: str) -> None:
    with app.app_context():
        key = db.session.scalar(select(ApiKey))
    assert key is not None
    assert api_key not in (key.key_digest, key.prefix) and len(key.key_digest) == 64
    assert api_key.startswith(f"bk_{key.prefix}_")


def test_a_missing_or_wrong_key_is_401(
    client: FlaskClient, user: RegisteredUser, api_key: str
) -> None:
    tampered = api_key[:-4] + "AAAA"
    for key in (None, "", "bk_nope_nope", tampered, "Bearer " + api_key):
        response = service_consume(client, key, user.id)
        assert response.status_code == 401, key
        assert response.get_json()["error"]["code"] == "invalid_api_key"


def test_a_user_token_is_not_an_api_key(client: FlaskClient, user: RegisteredUser) -> None:
    response = client.post(
        f"/api/v1/service/users/{user.id}/tokens/consume",
        json={"amount": 1, "reference": "x"},
        headers=user.headers,
    )
    assert response.status_code == 401


def test_an_unknown_user_is_404(client: FlaskClient, api_key: str) -> None:
    response = service_consume(client, api_key, uuid.uuid4())
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "user_not_found"


def adjust(client: FlaskClient, who: RegisteredUser, user_id: Any, amount: int) -> Any:
    return client.post(
        f"/api/v1/admin/users/{user_id}/tokens/adjust",
        json={"amount": amount, "reason": "goodwill"},
        headers=who.headers,
    )


def test_admins_grant_bonuses_and_corrections_named_in_the_ledger(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    admin: RegisteredUser,
) -> None:
    bonus = adjust(client, admin, user.id, 50)
    correction = adjust(client, admin, user.id, -20)
    too_much = adjust(client, admin, user.id, -31)

    assert (bonus.status_code, bonus.get_json()["type"], bonus.get_json()["balance"]) == (
        200,
        "bonus",
        50,
    )
    assert (correction.get_json()["type"], correction.get_json()["balance"]) == ("adjustment", 30)
    assert too_much.status_code == 409
    assert too_much.get_json()["error"]["code"] == "balance_would_go_negative"
    assert api.balance(user) == {"balance": 30, "total_purchased": 0, "total_spent": 0}
    with app.app_context():
        creators = set(db.session.scalars(select(TokenTransaction.created_by)))
    assert creators == {admin.id}

    ledger = client.get(
        f"/api/v1/admin/users/{user.id}/tokens/transactions", headers=admin.headers
    ).get_json()["items"]
    assert [(entry["type"], entry["amount"]) for entry in ledger] == [
        ("adjustment", -20),
        ("bonus", 50),
    ]


def test_adjustments_are_for_admins_and_real_users(
    client: FlaskClient, user: RegisteredUser, admin: RegisteredUser
) -> None:
    assert adjust(client, user, user.id, 10).status_code == 403
    assert adjust(client, admin, uuid.uuid4(), 10).status_code == 404
    assert adjust(client, admin, user.id, 0).status_code == 400


def test_reconcile_passes_on_a_clean_ledger_and_names_a_broken_balance(
    app: BillingApp,
    api: ApiClient,
    runner: FlaskCliRunner,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    buy_tokens(api, user, demo_catalog["tokens-50"])
    clean = runner.invoke(args=["tokens", "reconcile"])
    assert clean.exit_code == 0 and "All balances match" in clean.output

    with app.app_context():  # corrupt one balance behind the ledger's back
        db.session.execute(update(UserTokenBalance).values(balance=UserTokenBalance.balance + 5))
        db.session.commit()
    broken = runner.invoke(args=["tokens", "reconcile"])
    assert broken.exit_code == 1
    assert f"{user.id}: balance=55 ledger_sum=50" in broken.output
    with app.app_context():  # put it back, or the suite's own invariant check fails
        db.session.execute(update(UserTokenBalance).values(balance=UserTokenBalance.balance - 5))
        db.session.commit()
