"""Getting tokens and spending them, through the API, for tests."""

from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.support.api import ApiClient, RegisteredUser
from tests.support.webhooks import capture_payload, post_webhook


def buy_tokens(api: ApiClient, user: RegisteredUser, bundle_id: Any, times: int = 1) -> None:
    """Check out ``times`` bundles and capture the invoice with a signed webhook."""
    checkout = api.checkout(user, token_bundle_ids=(bundle_id,) * times)
    response = post_webhook(api.client, capture_payload(checkout["invoice"]))
    assert response.status_code == 200, response.get_json()


def consume(
    client: FlaskClient, user: RegisteredUser, amount: int, reference: str, **extra: Any
) -> TestResponse:
    return client.post(
        "/api/v1/user/tokens/consume",
        json={"amount": amount, "reference": reference, **extra},
        headers=user.headers,
    )
