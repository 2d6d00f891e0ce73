"""A verified provider event becomes the command that acts on it (or nothing at all)."""

from typing import Any

from src.events.base import Command
from src.events.dispute_events import DisputeClosedEvent, DisputeOpenedEvent
from src.events.payment_events import (
    PaymentCapturedEvent,
    PaymentFailureReportedEvent,
    RefundReportedEvent,
)
from src.providers.base import ProviderEvent, ProviderEventKind


def command_for(event: ProviderEvent, payload_digest: str) -> Command[Any] | None:
    """``None`` for events we do not act on, and for payments we did not start (no invoice)."""
    if event.kind is ProviderEventKind.PAYMENT_SUCCEEDED:
        reference = event.payment_reference
        if event.invoice_id is None or reference is None or event.amount is None:
            return None
        return PaymentCapturedEvent(
            invoice_id=event.invoice_id,
            payment_reference=reference,
            provider=event.provider,
            amount=event.amount,
            currency=event.currency or "",
            payload_digest=payload_digest,
            payment_id=event.payment_id,
            payment_intent_id=event.payment_intent_id,
            charge_id=event.charge_id,
            customer_id=event.customer_id,
            provider_event_id=event.event_id,
            provider_event_type=event.event_type,
        )
    if event.kind is ProviderEventKind.PAYMENT_FAILED:
        return PaymentFailureReportedEvent(
            provider=event.provider,
            provider_event_id=event.event_id,
            provider_event_type=event.event_type,
            payment_id=event.payment_id,
            payment_intent_id=event.payment_intent_id,
            failure_code=event.failure_code,
            failure_message=event.failure_message,
        )
    if event.kind is ProviderEventKind.REFUNDED:
        return RefundReportedEvent(
            provider=event.provider,
            provider_event_id=event.event_id,
            provider_event_type=event.event_type,
            payment_intent_id=event.payment_intent_id,
            charge_id=event.charge_id,
            refunded_total=event.refunded_total,
            refunds=event.refunds,
        )
    if event.kind is ProviderEventKind.DISPUTE_OPENED and event.dispute_id:
        return DisputeOpenedEvent(
            provider=event.provider,
            provider_event_id=event.event_id,
            provider_event_type=event.event_type,
            dispute_id=event.dispute_id,
            payment_intent_id=event.payment_intent_id,
            charge_id=event.charge_id,
        )
    if event.kind is ProviderEventKind.DISPUTE_CLOSED and event.dispute_id:
        return DisputeClosedEvent(
            provider=event.provider,
            provider_event_id=event.event_id,
            provider_event_type=event.event_type,
            dispute_id=event.dispute_id,
            outcome=event.dispute_status,
            payment_intent_id=event.payment_intent_id,
            charge_id=event.charge_id,
        )
    return None
