"""A ``complete`` Checkout Session is paid or being paid: StripeProvider never resumes it,
never lets it be stopped (409 ``payment_in_progress``), and reports its PaymentIntent's state.

Against a recording stand-in for stripe.StripeClient (as tests/unit/test_stripe_checkout.py):
localstripe, the e2e tier's Stripe server, has no Checkout Sessions."""

import uuid
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

import pytest
import stripe

from src.errors import InvalidState
from src.providers.base import ExistingPayment, RemoteStatus
from src.providers.stripe_provider import StripeProvider

PAYMENT = ExistingPayment(uuid.UUID(int=7), payment_intent_id=None, session_id="cs_test_1")


class Obj(dict[str, Any]):
    """A Stripe object: attribute and item access, ``in`` on its keys."""

    def __getattr__(self, name: str) -> Any:
        return self[name]


@dataclass
class RecordingStripe:
    session_status: str
    intent_status: str = "succeeded"
    expired: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)

    def client(self) -> stripe.StripeClient:
        sessions = SimpleNamespace(retrieve=self._session, expire=self.expired.append)
        intents = SimpleNamespace(retrieve=self._intent, cancel=self.cancelled.append)
        stand_in = SimpleNamespace(
            v1=SimpleNamespace(checkout=SimpleNamespace(sessions=sessions), payment_intents=intents)
        )
        return cast(stripe.StripeClient, stand_in)

    def _session(self, session_id: str) -> Obj:
        intent = "pi_1" if self.session_status == "complete" else None
        return Obj(id=session_id, status=self.session_status, url=None, payment_intent=intent)

    def _intent(self, intent_id: str) -> Obj:
        return Obj(
            id=intent_id,
            status=self.intent_status,
            amount=22800,
            amount_received=22800,
            currency="usd",
            latest_charge="ch_1",
            client_secret="secret",
        )


def provider(fake: RecordingStripe) -> StripeProvider:
    return StripeProvider(fake.client(), None, "https://app.test/ok", "https://app.test/no")


@pytest.mark.parametrize("intent_status", ["succeeded", "processing"])
def test_a_complete_session_is_neither_resumed_nor_stopped(intent_status: str) -> None:
    fake = RecordingStripe("complete", intent_status)
    stripe_provider = provider(fake)

    assert stripe_provider.resume_payment(PAYMENT) is None
    with pytest.raises(InvalidState) as refused:
        stripe_provider.cancel_payment(PAYMENT)

    assert refused.value.code == "payment_in_progress"
    assert fake.expired == [] and fake.cancelled == []
    remote = stripe_provider.fetch_payment(PAYMENT)
    assert (remote.status, remote.payment_intent_id) == (RemoteStatus(intent_status), "pi_1")


def test_an_open_session_is_expired_and_an_expired_one_left_alone() -> None:
    open_session = RecordingStripe("open")
    provider(open_session).cancel_payment(PAYMENT)
    assert open_session.expired == ["cs_test_1"]

    gone = RecordingStripe("expired")
    provider(gone).cancel_payment(PAYMENT)
    assert gone.expired == []
