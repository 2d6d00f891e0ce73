"""command_for: a verified provider event becomes the command that acts on it, or nothing.

(Split from test_verify_and_webhooks.py, which handles the commands, to keep files short.)
"""

import uuid
from decimal import Decimal
from typing import Any

import pytest

from src.events.dispute_events import DisputeClosedEvent, DisputeOpenedEvent
from src.events.payment_events import (
    PaymentCapturedEvent,
    PaymentFailureReportedEvent,
    RefundReportedEvent,
)
from src.handlers.provider_webhooks import command_for
from src.providers.base import ObservedRefund, ProviderEvent, ProviderEventKind

INVOICE = uuid.UUID("00000000-0000-4000-8000-00000000a001")
PAYMENT = uuid.UUID("00000000-0000-4000-8000-00000000a002")
DIGEST = "ab" * 32
REFUNDS = (ObservedRefund("re_1", Decimal("5.00")),)


def event(kind: ProviderEventKind, **fields: Any) -> ProviderEvent:
    values: dict[str, Any] = {
        "provider": "stripe",
        "event_id": "evt_1",
        "event_type": "some.type",
        "kind": kind,
        "invoice_id": INVOICE,
        "payment_id": PAYMENT,
        "payment_intent_id": "pi_1",
        "session_id": "cs_1",
        "charge_id": "ch_1",
        "customer_id": "cus_1",
        "amount": Decimal("228.00"),
        "currency": "USD",
        "failure_code": "card_declined",
        "failure_message": "Declined.",
        "refunded_total": Decimal("5.00"),
        "refunds": REFUNDS,
    }
    return ProviderEvent(**{**values, **fields})


def test_a_succeeded_event_becomes_a_capture_of_its_invoice() -> None:
    command = command_for(event(ProviderEventKind.PAYMENT_SUCCEEDED), DIGEST)

    assert isinstance(command, PaymentCapturedEvent)
    assert (command.invoice_id, command.payment_reference, command.provider) == (
        INVOICE,
        "pi_1",
        "stripe",
    )
    assert (command.amount, command.currency, command.payload_digest) == (
        Decimal("228.00"),
        "USD",
        DIGEST,
    )
    assert (command.payment_id, command.payment_intent_id, command.charge_id) == (
        PAYMENT,
        "pi_1",
        "ch_1",
    )
    assert (command.customer_id, command.provider_event_id, command.provider_event_type) == (
        "cus_1",
        "evt_1",
        "some.type",
    )


def test_a_succeeded_session_without_an_intent_is_settled_by_the_session() -> None:
    command = command_for(
        event(ProviderEventKind.PAYMENT_SUCCEEDED, payment_intent_id=None), DIGEST
    )

    assert isinstance(command, PaymentCapturedEvent) and command.payment_reference == "cs_1"


@pytest.mark.parametrize(
    "missing",
    [{"invoice_id": None}, {"amount": None}, {"payment_intent_id": None, "session_id": None}],
    ids=["invoice", "amount", "reference"],
)
def test_a_succeeded_event_we_cannot_settle_is_no_command(missing: dict[str, Any]) -> None:
    assert command_for(event(ProviderEventKind.PAYMENT_SUCCEEDED, **missing), DIGEST) is None


def test_a_failed_event_becomes_a_failure_report() -> None:
    command = command_for(event(ProviderEventKind.PAYMENT_FAILED), DIGEST)

    assert isinstance(command, PaymentFailureReportedEvent)
    assert (command.provider, command.provider_event_id, command.provider_event_type) == (
        "stripe",
        "evt_1",
        "some.type",
    )
    assert (command.payment_id, command.payment_intent_id) == (PAYMENT, "pi_1")
    assert (command.failure_code, command.failure_message) == ("card_declined", "Declined.")


def test_a_refunded_event_becomes_a_refund_report() -> None:
    command = command_for(event(ProviderEventKind.REFUNDED), DIGEST)

    assert isinstance(command, RefundReportedEvent)
    assert (command.provider, command.provider_event_id, command.provider_event_type) == (
        "stripe",
        "evt_1",
        "some.type",
    )
    assert (command.payment_intent_id, command.charge_id) == ("pi_1", "ch_1")
    assert (command.refunded_total, command.refunds) == (Decimal("5.00"), REFUNDS)


def test_an_ignored_event_is_no_command() -> None:
    assert command_for(event(ProviderEventKind.IGNORED), DIGEST) is None


@pytest.mark.parametrize(
    ("kind", "command_type"),
    [
        (ProviderEventKind.PAYMENT_SUCCEEDED, PaymentCapturedEvent),
        (ProviderEventKind.PAYMENT_FAILED, PaymentFailureReportedEvent),
        (ProviderEventKind.REFUNDED, RefundReportedEvent),
        (ProviderEventKind.DISPUTE_OPENED, DisputeOpenedEvent),
        (ProviderEventKind.DISPUTE_CLOSED, DisputeClosedEvent),
        (ProviderEventKind.IGNORED, type(None)),
    ],
)
def test_every_event_kind_has_its_command(kind: ProviderEventKind, command_type: type) -> None:
    assert set(ProviderEventKind) == {
        ProviderEventKind.PAYMENT_SUCCEEDED,
        ProviderEventKind.PAYMENT_FAILED,
        ProviderEventKind.REFUNDED,
        ProviderEventKind.DISPUTE_OPENED,
        ProviderEventKind.DISPUTE_CLOSED,
        ProviderEventKind.IGNORED,
    }
    assert type(command_for(event(kind, dispute_id="dp_1"), DIGEST)) is command_type


def test_a_dispute_close_carries_its_outcome() -> None:
    command = command_for(
        event(ProviderEventKind.DISPUTE_CLOSED, dispute_id="dp_1", dispute_status="lost"), DIGEST
    )

    assert isinstance(command, DisputeClosedEvent)
    assert (command.dispute_id, command.outcome, command.charge_id) == ("dp_1", "lost", "ch_1")
