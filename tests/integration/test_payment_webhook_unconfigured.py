"""Without their secrets the webhooks accept nothing (and say why)."""

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.support.api import ApiClient, RegisteredUser
from tests.support.stripe_events import event, post_stripe_event
from tests.support.webhooks import capture_payload, post_webhook


@pytest.fixture
def app_settings(app_settings: dict[str, Any]) -> dict[str, Any]:
    return {**app_settings, "PAYMENT_WEBHOOK_SECRET": None, "STRIPE_WEBHOOK_SECRET": None}


def test_an_unconfigured_webhook_is_503_and_captures_nothing(
    client: FlaskClient, api: ApiClient, user: RegisteredUser, demo_catalog: dict[str, Any]
) -> None:
    checkout = api.checkout(user, token_bundle_ids=(demo_catalog["tokens-50"],))
    response = post_webhook(client, capture_payload(checkout["invoice"]), secret="")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "webhook_not_configured"
    assert api.invoice(user, checkout["invoice"]["id"])["status"] == "pending"


def test_an_unconfigured_stripe_webhook_is_503(client: FlaskClient) -> None:
    response = post_stripe_event(client, event("customer.created", {"id": "cus_1"}), secret="x")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "webhook_not_configured"
