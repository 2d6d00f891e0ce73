"""Stripe's chargeback events, translated: the dispute's id, its payment and its outcome."""

from decimal import Decimal

from src.providers.base import ProviderEventKind
from src.providers.stripe_events import translate_event


def dispute_event(event_type: str, status: str) -> dict[str, object]:
    dispute = {
        "id": "dp_1",
        "object": "dispute",
        "charge": {"id": "ch_1", "object": "charge"},
        "payment_intent": "pi_1",
        "amount": 8900,
        "currency": "usd",
        "status": status,
    }
    return {"id": "evt_1", "type": event_type, "data": {"object": dispute}}


def test_a_dispute_opened_names_its_payment() -> None:
    event = translate_event(dispute_event("charge.dispute.created", "needs_response"))

    assert event.kind is ProviderEventKind.DISPUTE_OPENED
    assert (event.dispute_id, event.charge_id, event.payment_intent_id) == ("dp_1", "ch_1", "pi_1")
    assert (event.amount, event.currency) == (Decimal("89.00"), "USD")


def test_a_dispute_closed_carries_its_outcome() -> None:
    event = translate_event(dispute_event("charge.dispute.closed", "lost"))

    assert (event.kind, event.dispute_status) == (ProviderEventKind.DISPUTE_CLOSED, "lost")


def test_other_dispute_events_are_ignored() -> None:
    event = translate_event(dispute_event("charge.dispute.updated", "under_review"))

    assert event.kind is ProviderEventKind.IGNORED
