"""Sign generic payment webhooks the way a provider would, computed here by hand (hmac), so
the tests do not trust the same code that verifies."""

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import TEST_SETTINGS

WEBHOOK = "/api/v1/webhooks/payment"
SECRET = str(TEST_SETTINGS["PAYMENT_WEBHOOK_SECRET"])


def signature(body: str, secret: str = SECRET, timestamp: int | None = None) -> str:
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{stamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def post_webhook(
    client: FlaskClient,
    payload: dict[str, Any] | str,
    *,
    secret: str = SECRET,
    timestamp: int | None = None,
    header: str | None = None,
) -> TestResponse:
    body = payload if isinstance(payload, str) else json.dumps(payload)
    sig = header if header is not None else signature(body, secret, timestamp)
    return client.post(
        WEBHOOK,
        data=body,
        headers={"X-Webhook-Signature": sig, "Content-Type": "application/json"},
    )


def capture_payload(
    invoice: dict[str, Any], reference: str | None = None, **overrides: Any
) -> dict[str, Any]:
    """A webhook body that pays ``invoice`` (as returned by checkout) in full."""
    return {
        "invoice_id": invoice["id"],
        "payment_reference": reference or f"PAY-{uuid.uuid4().hex[:10]}",
        "amount": invoice["total_amount"],
        "currency": invoice["currency"],
        **overrides,
    }
