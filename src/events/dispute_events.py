"""Chargebacks reported by a provider: a dispute opened on a payment, and its close."""

from dataclasses import dataclass

from src.events.base import Command
from src.events.payment_results import WebhookOutcome


@dataclass(frozen=True, kw_only=True)
class DisputeOpenedEvent(Command[WebhookOutcome]):
    """Command: the customer disputes a payment (the provider has taken the money back
    meanwhile); the payment becomes ``disputed`` and its grants are taken back at once."""

    name = "payment.dispute_opened"
    provider: str
    provider_event_id: str
    provider_event_type: str
    dispute_id: str
    payment_intent_id: str | None
    charge_id: str | None


@dataclass(frozen=True, kw_only=True)
class DisputeClosedEvent(Command[WebhookOutcome]):
    """Command: a dispute closed with ``outcome`` (won, lost, warning_closed): won restores
    the payment and its grants, lost leaves them taken back (the payment is refunded)."""

    name = "payment.dispute_closed"
    provider: str
    provider_event_id: str
    provider_event_type: str
    dispute_id: str
    outcome: str | None
    payment_intent_id: str | None
    charge_id: str | None
