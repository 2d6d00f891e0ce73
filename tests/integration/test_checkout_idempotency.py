"""Idempotency-Key on POST /user/checkout: retries replay, never buy twice."""

from typing import Any

from flask.testing import FlaskClient

from src.app import BillingApp
from src.models.idempotency_key import IdempotencyKey
from src.models.invoice import Invoice
from src.models.token_bundle import TokenBundlePurchase
from tests.support.api import ApiClient, RegisteredUser
from tests.support.concurrency import run_concurrently

CHECKOUT = "/api/v1/user/checkout"


def post(client: FlaskClient, user: RegisteredUser, body: dict[str, Any], key: str) -> Any:
    return client.post(CHECKOUT, json=body, headers={**user.headers, "Idempotency-Key": key})


def test_a_retry_with_the_same_key_replays_the_first_answer(
    client: FlaskClient, user: RegisteredUser, demo_catalog: dict[str, Any], count_rows: Any
) -> None:
    body = {
        "plan_id": str(demo_catalog["pro-monthly"]),
        "token_bundle_ids": [str(demo_catalog["tokens-100"])],
    }
    first = post(client, user, body, "order-42")
    retry = post(client, user, body, "order-42")

    assert first.status_code == retry.status_code == 201
    assert retry.get_json() == first.get_json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert count_rows(Invoice) == 1
    assert count_rows(TokenBundlePurchase) == 1


def test_the_same_key_with_another_body_is_422(
    client: FlaskClient, user: RegisteredUser, demo_catalog: dict[str, Any], count_rows: Any
) -> None:
    post(client, user, {"token_bundle_ids": [str(demo_catalog["tokens-50"])]}, "k-1")
    other = post(client, user, {"token_bundle_ids": [str(demo_catalog["tokens-100"])]}, "k-1")

    assert other.status_code == 422
    assert other.get_json()["error"]["code"] == "idempotency_key_reused"
    assert count_rows(Invoice) == 1


def test_keys_belong_to_their_user(
    client: FlaskClient,
    api: ApiClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
    count_rows: Any,
) -> None:
    body = {"token_bundle_ids": [str(demo_catalog["tokens-50"])]}
    mine = post(client, user, body, "shared-key")
    theirs = post(client, api.register(), body, "shared-key")

    assert mine.status_code == theirs.status_code == 201
    assert mine.get_json()["invoice"]["id"] != theirs.get_json()["invoice"]["id"]
    assert count_rows(IdempotencyKey) == 2


def test_a_refused_checkout_does_not_burn_the_key(
    client: FlaskClient, user: RegisteredUser, demo_catalog: dict[str, Any]
) -> None:
    """The key commits with the work, so a 4xx leaves it free for the corrected retry."""
    body: dict[str, Any] = {"add_on_ids": [str(demo_catalog["priority-support"])]}
    refused = post(client, user, body, "k-2")
    assert refused.status_code == 400

    body["plan_id"] = str(demo_catalog["pro-monthly"])
    corrected = post(client, user, body, "k-2")
    assert corrected.status_code == 201
    assert "Idempotent-Replayed" not in corrected.headers


def test_invalid_keys_are_400(client: FlaskClient, user: RegisteredUser) -> None:
    for key in ("", "x" * 256, "has space"):
        response = post(client, user, {"token_bundle_ids": []}, key)
        assert response.status_code == 400, key
        assert response.get_json()["error"]["code"] == "invalid_idempotency_key"


def test_concurrent_duplicates_create_one_invoice(
    app: BillingApp, user: RegisteredUser, demo_catalog: dict[str, Any], count_rows: Any
) -> None:
    body = {
        "plan_id": str(demo_catalog["pro-monthly"]),
        "token_bundle_ids": [str(demo_catalog["tokens-50"])] * 2,
    }

    responses = run_concurrently(
        app, 12, lambda client, _: post(client, user, body, "double-click")
    )

    assert [response.status_code for response in responses] == [201] * 12
    invoice_ids = {response.get_json()["invoice"]["id"] for response in responses}
    assert len(invoice_ids) == 1
    replayed = [response.headers.get("Idempotent-Replayed") for response in responses]
    assert replayed.count("true") == 11
    assert count_rows(Invoice) == 1
    assert count_rows(TokenBundlePurchase) == 1
