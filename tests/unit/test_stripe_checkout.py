"""StripeProvider's Checkout Session creation and its error mapping, against a recording
stand-in for stripe.StripeClient.

The stand-in replaces the real Stripe, which these tests cannot reach, for the one call that
localstripe (the e2e tier's Stripe server) does not implement: Checkout Sessions. It records
the params and options the SDK would have sent, and answers, or raises, what the test scripts.
"""

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, cast

import pytest
import stripe

from src.errors import ProviderError
from src.providers.base import (
    LineForProvider,
    PaymentMode,
    PaymentStart,
    ProviderDeclined,
    StartedPayment,
)
from src.providers.stripe_provider import StripeProvider

INVOICE = uuid.UUID("00000000-0000-4000-8000-00000000b001")
PAYMENT = uuid.UUID("00000000-0000-4000-8000-00000000b002")
USER = uuid.UUID("00000000-0000-4000-8000-00000000b003")


@dataclass
class RecordingSessions:
    error: Exception | None = None
    created: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)

    def create(self, params: dict[str, Any], options: dict[str, Any]) -> SimpleNamespace:
        self.created.append((params, options))
        if self.error is not None:
            raise self.error
        return SimpleNamespace(id="cs_test_1", url="https://checkout.stripe.test/cs_test_1")


def provider(sessions: RecordingSessions) -> StripeProvider:
    stand_in = SimpleNamespace(v1=SimpleNamespace(checkout=SimpleNamespace(sessions=sessions)))
    return StripeProvider(
        client=cast(stripe.StripeClient, stand_in),
        webhook_secret=None,
        success_url="https://app.test/paid",
        cancel_url="https://app.test/cancelled",
    )


def stripe_error(kind: type[stripe.StripeError], *args: Any, **kwargs: Any) -> stripe.StripeError:
    """Build an SDK error (its constructors are untyped)."""
    build: Any = kind
    return cast(stripe.StripeError, build(*args, **kwargs))


def checkout_start() -> PaymentStart:
    return PaymentStart(
        payment_id=PAYMENT,
        invoice_id=INVOICE,
        invoice_number="INV-000007",
        user_id=USER,
        amount=Decimal("209.00"),
        currency="USD",
        mode=PaymentMode.CHECKOUT,
        customer_id="cus_1",
        lines=(
            LineForProvider("Pro", 1, Decimal("49.00")),
            LineForProvider("Tokens", 2, Decimal("80.00")),
        ),
    )


def test_a_checkout_session_is_created_with_our_lines_ids_and_urls() -> None:
    sessions = RecordingSessions()

    started = provider(sessions).start_payment(checkout_start())

    assert started == StartedPayment(
        provider_payment_id="cs_test_1",
        session_id="cs_test_1",
        checkout_url="https://checkout.stripe.test/cs_test_1",
    )
    [(params, options)] = sessions.created
    ids = {
        "invoice_id": str(INVOICE),
        "invoice_number": "INV-000007",
        "user_id": str(USER),
        "payment_id": str(PAYMENT),
    }
    assert params == {
        "mode": "payment",
        "client_reference_id": str(INVOICE),
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": "usd",
                    "unit_amount": 4900,
                    "product_data": {"name": "Pro"},
                },
            },
            {
                "quantity": 2,
                "price_data": {
                    "currency": "usd",
                    "unit_amount": 8000,
                    "product_data": {"name": "Tokens"},
                },
            },
        ],
        "metadata": ids,
        "payment_intent_data": {"metadata": ids},
        "success_url": "https://app.test/paid",
        "cancel_url": "https://app.test/cancelled",
        "customer": "cus_1",
    }
    assert options == {"idempotency_key": f"payment-{PAYMENT}"}


def card_error() -> stripe.StripeError:
    """What the SDK raises for a 402 whose error says card_declined / insufficient_funds."""
    error = {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds"}
    return stripe_error(
        stripe.CardError,
        "Your card has insufficient funds.",
        None,
        "card_declined",
        http_status=402,
        json_body={"error": error},
    )


def test_a_declined_card_is_provider_declined() -> None:
    with pytest.raises(ProviderDeclined) as caught:
        provider(RecordingSessions(error=card_error())).start_payment(checkout_start())

    assert (caught.value.status_code, caught.value.code) == (402, "payment_declined")
    assert caught.value.message == "Your card has insufficient funds."


def test_a_declined_card_reports_stripes_decline_code() -> None:
    with pytest.raises(ProviderDeclined) as caught:
        provider(RecordingSessions(error=card_error())).start_payment(checkout_start())

    assert caught.value.details == {"decline_code": "insufficient_funds"}


@pytest.mark.parametrize(
    "error",
    [
        stripe_error(stripe.APIError, "internal detail req_abc", http_status=500),
        stripe_error(stripe.InvalidRequestError, "No such customer: cus_x", "customer"),
        stripe_error(stripe.APIConnectionError, "connection to api.stripe.com refused"),
    ],
    ids=["api", "invalid_request", "connection"],
)
def test_any_other_stripe_error_is_a_bare_provider_error(error: stripe.StripeError) -> None:
    with pytest.raises(ProviderError) as caught:
        provider(RecordingSessions(error=error)).start_payment(checkout_start())

    assert (caught.value.status_code, caught.value.code) == (502, "provider_error")
    assert str(error.user_message) not in caught.value.message
    assert caught.value.message == "The payment provider refused or failed the request."
    assert caught.value.details is None
