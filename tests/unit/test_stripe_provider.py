"""StripeProvider's webhooks without a network: the translation of Stripe's events, and
signature checks over payloads signed here the way Stripe signs them (HMAC-SHA256 of
"<t>.<payload>"). Checkout Session creation is in test_stripe_checkout.py."""

import hashlib
import hmac
import json
import time
import uuid
from decimal import Decimal
from typing import Any

import pytest

from src.errors import ServiceUnavailable
from src.providers.base import ObservedRefund, ProviderEventKind
from src.providers.stripe_provider import InvalidStripeSignature, StripeProvider

SECRET = "whsec_unit_test_secret"
INVOICE = uuid.UUID("00000000-0000-4000-8000-00000000b001")
PAYMENT = uuid.UUID("00000000-0000-4000-8000-00000000b002")
USER = uuid.UUID("00000000-0000-4000-8000-00000000b003")
METADATA = {"invoice_id": str(INVOICE), "payment_id": str(PAYMENT), "user_id": str(USER)}


def provider(secret: str | None = SECRET) -> StripeProvider:
    """No client: nothing here calls Stripe."""
    return StripeProvider(None, secret, "https://app.test/paid", "https://app.test/cancelled")


def stripe_event(event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {"id": "evt_1", "type": event_type, "data": {"object": obj}}


def intent(**fields: Any) -> dict[str, Any]:
    values = {
        "id": "pi_1",
        "amount": 22800,
        "amount_received": 22800,
        "currency": "usd",
        "customer": "cus_1",
        "latest_charge": "ch_1",
        "metadata": METADATA,
        "last_payment_error": None,
    }
    return {**values, **fields}


def signed(payload: bytes, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    """The Stripe-Signature header: t=<unix time>,v1=<HMAC-SHA256 of "t.payload">."""
    timestamp = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return {"Stripe-Signature": f"t={timestamp},v1={mac.hexdigest()}"}


@pytest.mark.parametrize("charge", ["ch_1", {"id": "ch_1", "object": "charge"}], ids=["id", "obj"])
def test_a_succeeded_intent_translates_to_a_payment_success(charge: object) -> None:
    event = provider()._translate(
        stripe_event("payment_intent.succeeded", intent(latest_charge=charge))
    )

    assert (event.provider, event.event_id, event.event_type, event.kind) == (
        "stripe",
        "evt_1",
        "payment_intent.succeeded",
        ProviderEventKind.PAYMENT_SUCCEEDED,
    )
    assert (event.invoice_id, event.payment_id) == (INVOICE, PAYMENT)
    assert (event.payment_intent_id, event.charge_id, event.customer_id) == (
        "pi_1",
        "ch_1",
        "cus_1",
    )
    assert (event.amount, event.currency, event.payment_reference) == (
        Decimal("228.00"),
        "USD",
        "pi_1",
    )


@pytest.mark.parametrize(
    ("error", "code"),
    [
        ({"code": "card_declined", "decline_code": "insufficient_funds"}, "insufficient_funds"),
        ({"code": "expired_card"}, "expired_card"),
    ],
)
def test_a_failed_intent_carries_the_decline_code_and_message(
    error: dict[str, str], code: str
) -> None:
    failed = intent(amount_received=0, last_payment_error={**error, "message": "No."})

    event = provider()._translate(stripe_event("payment_intent.payment_failed", failed))

    assert (event.kind, event.failure_code, event.failure_message) == (
        ProviderEventKind.PAYMENT_FAILED,
        code,
        "No.",
    )
    assert (event.payment_id, event.payment_intent_id) == (PAYMENT, "pi_1")


def session(payment_status: str, **fields: Any) -> dict[str, Any]:
    values = {
        "id": "cs_1",
        "payment_status": payment_status,
        "payment_intent": "pi_1",
        "customer": "cus_1",
        "amount_total": 22800,
        "currency": "usd",
        "client_reference_id": str(INVOICE),
        "metadata": METADATA,
    }
    return {**values, **fields}


def test_a_paid_checkout_session_translates_to_a_payment_success() -> None:
    event = provider()._translate(stripe_event("checkout.session.completed", session("paid")))

    assert event.kind is ProviderEventKind.PAYMENT_SUCCEEDED
    assert (event.invoice_id, event.payment_id, event.session_id) == (INVOICE, PAYMENT, "cs_1")
    assert (event.payment_intent_id, event.amount, event.currency) == (
        "pi_1",
        Decimal("228.00"),
        "USD",
    )


def test_a_session_without_our_metadata_falls_back_to_its_client_reference() -> None:
    event = provider()._translate(
        stripe_event("checkout.session.completed", session("paid", metadata={}))
    )

    assert (event.invoice_id, event.payment_id) == (INVOICE, None)


def test_an_unpaid_checkout_session_is_ignored() -> None:
    event = provider()._translate(stripe_event("checkout.session.completed", session("unpaid")))

    assert (event.kind, event.invoice_id, event.amount) == (ProviderEventKind.IGNORED, None, None)


def test_a_refunded_charge_lists_its_refunds() -> None:
    charge = {
        "id": "ch_1",
        "payment_intent": "pi_1",
        "currency": "usd",
        "amount_refunded": 2800,
        "refunds": {"data": [{"id": "re_1", "amount": 800}, {"id": "re_2", "amount": 2000}]},
    }

    event = provider()._translate(stripe_event("charge.refunded", charge))

    assert (event.kind, event.charge_id, event.payment_intent_id) == (
        ProviderEventKind.REFUNDED,
        "ch_1",
        "pi_1",
    )
    assert event.refunded_total == Decimal("28.00")
    assert event.refunds == (
        ObservedRefund("re_1", Decimal("8.00")),
        ObservedRefund("re_2", Decimal("20.00")),
    )


def test_an_unknown_event_type_is_ignored() -> None:
    event = provider()._translate(stripe_event("customer.created", {"id": "cus_1"}))

    assert (event.kind, event.event_id, event.event_type) == (
        ProviderEventKind.IGNORED,
        "evt_1",
        "customer.created",
    )


def test_a_correctly_signed_webhook_is_parsed() -> None:
    payload = json.dumps(stripe_event("payment_intent.succeeded", intent())).encode()

    event = provider().parse_webhook(payload, signed(payload))

    assert (event.kind, event.payment_id, event.amount) == (
        ProviderEventKind.PAYMENT_SUCCEEDED,
        PAYMENT,
        Decimal("228.00"),
    )


@pytest.mark.parametrize("forgery", ["wrong secret", "altered payload", "too old", "no header"])
def test_a_webhook_that_does_not_verify_is_invalid_signature(forgery: str) -> None:
    payload = json.dumps(stripe_event("payment_intent.succeeded", intent())).encode()
    headers = {
        "wrong secret": signed(payload, secret="whsec_someone_else"),
        "altered payload": signed(payload.replace(b"22800", b"1")),
        "too old": signed(payload, at=int(time.time()) - 3600),
        "no header": {},
    }[forgery]

    with pytest.raises(InvalidStripeSignature) as caught:
        provider().parse_webhook(payload, headers)

    assert (caught.value.status_code, caught.value.code) == (400, "invalid_signature")


def test_a_webhook_without_a_configured_secret_is_webhook_not_configured() -> None:
    payload = json.dumps(stripe_event("payment_intent.succeeded", intent())).encode()

    with pytest.raises(ServiceUnavailable) as caught:
        provider(None).parse_webhook(payload, signed(payload))

    assert (caught.value.status_code, caught.value.code) == (503, "webhook_not_configured")
