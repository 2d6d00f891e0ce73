"""The generic payment webhook is authenticated before anything in its body is trusted."""

import json
import time
from typing import Any

import pytest
from flask.testing import FlaskClient

from src.models.payment import Payment
from tests.support.api import ApiClient, RegisteredUser
from tests.support.webhooks import SECRET, capture_payload, post_webhook, signature


@pytest.fixture
def invoice(api: ApiClient, user: RegisteredUser, demo_catalog: dict[str, Any]) -> dict[str, Any]:
    body = api.checkout(user, token_bundle_ids=(demo_catalog["tokens-50"],))
    created: dict[str, Any] = body["invoice"]
    return created


def assert_refused(response: Any) -> None:
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_signature"


def test_a_wrong_secret_is_refused_and_changes_nothing(
    client: FlaskClient,
    api: ApiClient,
    user: RegisteredUser,
    invoice: dict[str, Any],
    count_rows: Any,
) -> None:
    assert_refused(post_webhook(client, capture_payload(invoice), secret="whsec_guessed"))
    assert api.invoice(user, invoice["id"])["status"] == "pending"
    assert api.balance(user)["balance"] == 0
    assert count_rows(Payment) == 0


def test_a_missing_or_garbled_header_is_refused(
    client: FlaskClient, invoice: dict[str, Any]
) -> None:
    assert_refused(post_webhook(client, capture_payload(invoice), header=""))
    for header in ("v1=abc", "t=notanumber,v1=abc", "t=1700000000", "nonsense"):
        response = post_webhook(client, capture_payload(invoice), header=header)
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] == "malformed_signature_header"
    no_header = client.post("/api/v1/webhooks/payment", json=capture_payload(invoice))
    assert_refused(no_header)


def test_a_stale_timestamp_is_refused(client: FlaskClient, invoice: dict[str, Any]) -> None:
    stale = int(time.time()) - 301
    assert_refused(post_webhook(client, capture_payload(invoice), timestamp=stale))


def test_a_timestamp_from_the_future_is_refused(
    client: FlaskClient, invoice: dict[str, Any]
) -> None:
    assert_refused(
        post_webhook(client, capture_payload(invoice), timestamp=int(time.time()) + 3600)
    )


def test_a_recent_timestamp_within_tolerance_is_accepted(
    client: FlaskClient, invoice: dict[str, Any]
) -> None:
    recent = int(time.time()) - 240
    assert post_webhook(client, capture_payload(invoice), timestamp=recent).status_code == 200


def test_a_body_changed_after_signing_is_refused(
    client: FlaskClient, invoice: dict[str, Any]
) -> None:
    signed_body = json.dumps(capture_payload(invoice, "PAY-1"))
    tampered = signed_body.replace("PAY-1", "PAY-2")
    assert_refused(post_webhook(client, tampered, header=signature(signed_body)))


def test_several_v1_signatures_are_allowed_for_secret_rotation(
    client: FlaskClient, invoice: dict[str, Any]
) -> None:
    body = json.dumps(capture_payload(invoice))
    stamp = int(time.time())
    old = signature(body, "whsec_retired_secret", stamp).split(",")[1]
    current = signature(body, SECRET, stamp).split(",")[1]
    response = post_webhook(client, body, header=f"t={stamp},{old},{current}")
    assert response.status_code == 200


def test_the_signature_is_checked_before_the_body_is_read(client: FlaskClient) -> None:
    """Garbage with a bad signature is a 401, not a 400: the body was never parsed."""
    assert_refused(post_webhook(client, "{not json", secret="whsec_wrong"))
    assert_refused(post_webhook(client, b"\xff\xfe".decode("latin-1"), secret="whsec_wrong"))


def test_a_signed_but_malformed_body_is_400(client: FlaskClient) -> None:
    bad_json = post_webhook(client, "{not json")
    missing = post_webhook(client, {"invoice_id": "nope"})
    assert bad_json.status_code == missing.status_code == 400
    assert bad_json.get_json()["error"]["code"] == "malformed_json"
    assert missing.get_json()["error"]["code"] == "validation_failed"


def test_reserved_provider_names_are_refused(client: FlaskClient, invoice: dict[str, Any]) -> None:
    for provider in ("manual", "stripe"):
        response = post_webhook(client, capture_payload(invoice, provider=provider))
        assert response.status_code == 400


def test_three_decimal_amounts_are_refused(client: FlaskClient, invoice: dict[str, Any]) -> None:
    response = post_webhook(client, capture_payload(invoice, amount="49.001"))
    assert response.status_code == 400
