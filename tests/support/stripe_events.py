"""Stripe events localstripe never sends (checkout.session.completed, charge.refunded), built
here and signed with the SDK's own helper, as Stripe would sign them."""

import json
import time
import uuid
from typing import Any

import stripe
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import TEST_SETTINGS

STRIPE_WEBHOOK = "/api/v1/webhooks/stripe"
STRIPE_SECRET = str(TEST_SETTINGS["STRIPE_WEBHOOK_SECRET"])


def event(event_type: str, obj: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:14]}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "api_version": "2026-10-28.endive",
        "data": {"object": obj},
    }


def post_stripe_event(
    client: FlaskClient,
    payload: dict[str, Any],
    secret: str = STRIPE_SECRET,
    timestamp: int | None = None,
) -> TestResponse:
    body = json.dumps(payload)
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp)
    return client.post(
        STRIPE_WEBHOOK,
        data=body,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )


def paid_session(invoice: dict[str, Any], user_id: Any, **overrides: Any) -> dict[str, Any]:
    """A completed, paid Checkout Session for ``invoice`` (as checkout returned it)."""
    cents = int(invoice["total_amount"].replace(".", ""))
    return {
        "id": f"cs_test_{uuid.uuid4().hex[:12]}",
        "object": "checkout.session",
        "payment_status": "paid",
        "status": "complete",
        "amount_total": cents,
        "currency": invoice["currency"].lower(),
        "payment_intent": f"pi_{uuid.uuid4().hex[:14]}",
        "customer": f"cus_{uuid.uuid4().hex[:12]}",
        "client_reference_id": invoice["id"],
        "metadata": {"invoice_id": invoice["id"], "user_id": str(user_id)},
        **overrides,
    }


def refunded_charge(
    payment_intent: str, amount_refunded: int, refunds: list[tuple[str, int]], currency: str = "usd"
) -> dict[str, Any]:
    return {
        "id": f"ch_{uuid.uuid4().hex[:14]}",
        "object": "charge",
        "payment_intent": payment_intent,
        "amount_refunded": amount_refunded,
        "currency": currency,
        "refunds": {
            "object": "list",
            "data": [{"id": refund_id, "amount": amount} for refund_id, amount in refunds],
        },
    }
