"""POST /user/tokens/consume: atomic, idempotent, never overdrawn; a use is given back only by
whoever charged it (an admin, for the user's own uses)."""

import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient

from src.app import BillingApp
from src.models.token_ledger import TokenTransaction
from src.models.token_usage import TokenUsage
from tests.support.api import ApiClient, RegisteredUser
from tests.support.concurrency import run_concurrently
from tests.support.tokens import buy_tokens, consume


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    """No trial credits here: these tests are about tokens (trials have their own file)."""
    return {**app_settings, "TRIAL_CREDITS": 0}


@pytest.fixture
def funded(api: ApiClient, user: RegisteredUser, demo_catalog: dict[str, Any]) -> RegisteredUser:
    buy_tokens(api, user, demo_catalog["tokens-100"])
    return user


def test_a_use_takes_its_tokens_and_is_in_the_ledger(
    api: ApiClient, client: FlaskClient, funded: RegisteredUser
) -> None:
    response = consume(client, funded, 7, "render-1", description="4K render")

    assert response.status_code == 201
    body = response.get_json()
    assert (body["balance"], body["source"], body["charged_tokens"]) == (93, "tokens", 7)
    assert api.balance(funded) == {"balance": 93, "total_purchased": 100, "total_spent": 7}
    latest = client.get("/api/v1/user/tokens/transactions", headers=funded.headers).get_json()
    entry = latest["items"][0]
    assert (entry["type"], entry["amount"], entry["balance_after"]) == ("usage", -7, 93)
    assert entry["reference_id"] == body["usage_id"] and entry["description"] == "4K render"


def test_short_balance_is_402_with_the_numbers_and_writes_nothing(
    api: ApiClient, client: FlaskClient, funded: RegisteredUser, count_rows: Any
) -> None:
    response = consume(client, funded, 101, "too-big")
    assert response.status_code == 402
    assert response.get_json()["error"] == {
        "code": "insufficient_tokens",
        "message": "Not enough tokens.",
        "details": {"balance": 100, "required": 101},
    }
    assert count_rows(TokenUsage) == 0
    assert count_rows(TokenTransaction) == 1  # the purchase only
    assert consume(client, funded, 100, "all-of-it").status_code == 201
    assert api.balance(funded)["balance"] == 0


def test_the_same_reference_replays_and_never_charges_twice(
    api: ApiClient, client: FlaskClient, funded: RegisteredUser
) -> None:
    first = consume(client, funded, 5, "job-42")
    again = consume(client, funded, 5, "job-42")
    other_amount = consume(client, funded, 6, "job-42")

    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other_amount.status_code == 422
    assert other_amount.get_json()["error"]["code"] == "usage_reference_reused"
    assert api.balance(funded)["balance"] == 95


def test_references_are_per_user(
    api: ApiClient, client: FlaskClient, funded: RegisteredUser, demo_catalog: dict[str, Any]
) -> None:
    other = api.register()
    buy_tokens(api, other, demo_catalog["tokens-50"])
    assert consume(client, funded, 1, "same-ref").status_code == 201
    assert consume(client, other, 1, "same-ref").status_code == 201
    assert (api.balance(funded)["balance"], api.balance(other)["balance"]) == (99, 49)


def test_a_user_cannot_give_back_a_use_and_an_admin_can_once(
    api: ApiClient, client: FlaskClient, funded: RegisteredUser, admin: RegisteredUser
) -> None:
    """The user's route answers 403 for every use (it would make paid work free); an admin
    gives the use back, once."""
    usage_id = consume(client, funded, 10, "flaky").get_json()["usage_id"]
    mine = f"/api/v1/user/tokens/usages/{usage_id}/refund"
    url = f"/api/v1/admin/users/{funded.id}/tokens/usages/{usage_id}/refund"

    by_user = client.post(mine, json={"reason": "GPU crashed"}, headers=funded.headers)
    assert by_user.status_code == 403 and by_user.get_json()["error"]["code"] == "forbidden"
    assert api.balance(funded)["balance"] == 90
    refunded = client.post(url, json={"reason": "GPU crashed"}, headers=admin.headers)
    again = client.post(url, json={}, headers=admin.headers)

    assert refunded.status_code == 200
    assert (refunded.get_json()["balance"], refunded.get_json()["status"]) == (100, "refunded")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_refunded"
    assert api.balance(funded) == {"balance": 100, "total_purchased": 100, "total_spent": 0}
    ledger = client.get("/api/v1/user/tokens/transactions", headers=funded.headers).get_json()
    assert [(e["type"], e["amount"]) for e in ledger["items"]] == [
        ("refund", 10),
        ("usage", -10),
        ("purchase", 100),
    ]


def test_the_user_refund_route_is_403_for_any_use(
    api: ApiClient, client: FlaskClient, funded: RegisteredUser
) -> None:
    usage_id = consume(client, funded, 10, "mine").get_json()["usage_id"]
    stranger = api.register()
    for who, usage in ((stranger, usage_id), (funded, usage_id), (funded, uuid.uuid4())):
        response = client.post(
            f"/api/v1/user/tokens/usages/{usage}/refund", json={}, headers=who.headers
        )
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "forbidden"
    assert api.balance(funded)["balance"] == 90


def test_an_admin_refund_checks_the_use_is_that_users(
    api: ApiClient, client: FlaskClient, funded: RegisteredUser, admin: RegisteredUser
) -> None:
    usage_id = consume(client, funded, 10, "mine").get_json()["usage_id"]
    stranger = api.register()

    response = client.post(
        f"/api/v1/admin/users/{stranger.id}/tokens/usages/{usage_id}/refund",
        json={},
        headers=admin.headers,
    )
    by_user = client.post(
        f"/api/v1/admin/users/{funded.id}/tokens/usages/{usage_id}/refund",
        json={},
        headers=funded.headers,
    )

    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "usage_not_found"
    assert by_user.status_code == 403
    assert api.balance(funded)["balance"] == 90


@pytest.mark.parametrize(
    "payload",
    [
        {"amount": 0, "reference": "x"},
        {"amount": 1},
        {"amount": 1, "reference": ""},
        {"amount": "1", "reference": 1},
    ],
)
def test_bad_consume_bodies_are_400(
    client: FlaskClient, funded: RegisteredUser, payload: dict[str, Any]
) -> None:
    response = client.post("/api/v1/user/tokens/consume", json=payload, headers=funded.headers)
    assert response.status_code == 400


def test_two_hundred_concurrent_uses_of_one_token_from_a_hundred(
    app: BillingApp, api: ApiClient, funded: RegisteredUser, count_rows: Any
) -> None:
    responses = run_concurrently(
        app, 200, lambda client, i: consume(client, funded, 1, f"parallel-{i}")
    )

    codes = sorted(response.status_code for response in responses)
    assert codes == [201] * 100 + [402] * 100
    assert api.balance(funded) == {"balance": 0, "total_purchased": 100, "total_spent": 100}
    assert count_rows(TokenUsage) == 100
    balances_after = sorted(r.get_json()["balance"] for r in responses if r.status_code == 201)
    assert balances_after == list(range(100))


def test_concurrent_retries_of_one_reference_charge_once(
    app: BillingApp, api: ApiClient, funded: RegisteredUser, count_rows: Any
) -> None:
    responses = run_concurrently(app, 20, lambda client, _: consume(client, funded, 3, "retry-me"))

    assert [response.status_code for response in responses] == [201] * 20
    assert len({response.get_json()["usage_id"] for response in responses}) == 1
    assert api.balance(funded)["balance"] == 97
    assert count_rows(TokenUsage) == 1


def test_a_reference_of_the_maximum_length_is_charged(
    api: ApiClient, client: FlaskClient, funded: RegisteredUser
) -> None:
    response = consume(client, funded, 1, "r" * 255)
    assert response.status_code == 201
    assert api.balance(funded)["balance"] == 99
