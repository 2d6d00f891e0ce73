"""StripeProvider's side of the refund intent without a network: which Stripe errors close a
refund as refused and which leave it for a retry, and a charge.refunded report naming the
refund of ours it carries (by the metadata we sent)."""

import uuid
from collections.abc import Callable
from decimal import Decimal

import pytest
import stripe

from src.errors import ProviderError
from src.providers.base import ObservedRefund, ProviderRefused
from src.providers.stripe_provider import StripeProvider

OURS = uuid.UUID("00000000-0000-4000-8000-00000000a001")


def failing(error: Exception) -> Callable[[], None]:
    def call() -> None:
        raise error

    return call


@pytest.mark.parametrize(
    "error",
    [
        stripe.InvalidRequestError(  # type: ignore[no-untyped-call]
            "Charge already refunded.", "charge", http_status=400
        ),
        stripe.PermissionError("No.", http_status=403),
    ],
    ids=["400", "403"],
)
def test_a_stripe_refusal_is_provider_refused(error: Exception) -> None:
    with pytest.raises(ProviderRefused) as caught:
        StripeProvider._call(failing(error))

    assert (caught.value.status_code, caught.value.code) == (502, "provider_error")


@pytest.mark.parametrize(
    "error",
    [
        stripe.APIConnectionError("Connection reset."),  # type: ignore[no-untyped-call]
        stripe.APIError("Internal error.", http_status=500),
        stripe.RateLimitError("Too many requests.", http_status=429),
        stripe.IdempotencyError("A request with this key is in progress.", http_status=409),
    ],
    ids=["network", "500", "429", "409"],
)
def test_what_may_pass_on_a_retry_is_a_plain_provider_error(error: Exception) -> None:
    with pytest.raises(ProviderError) as caught:
        StripeProvider._call(failing(error))

    assert not isinstance(caught.value, ProviderRefused)


def test_a_refunded_charge_names_the_refund_of_ours_it_carries() -> None:
    provider = StripeProvider(None, None, "https://app.test/paid", "https://app.test/cancelled")
    charge = {
        "id": "ch_1",
        "payment_intent": "pi_1",
        "amount_refunded": 3000,
        "currency": "usd",
        "refunds": {
            "data": [
                {"id": "re_ours", "amount": 2000, "metadata": {"refund_id": str(OURS)}},
                {"id": "re_dash", "amount": 1000, "metadata": {}},
            ]
        },
    }

    event = provider._translate(
        {"id": "evt_1", "type": "charge.refunded", "data": {"object": charge}}
    )

    assert event.refunds == (
        ObservedRefund("re_ours", Decimal("20.00"), OURS),
        ObservedRefund("re_dash", Decimal("10.00"), None),
    )
