"""Stripe webhook events, translated into provider-neutral ``ProviderEvent``s.

Stripe (and localstripe) send ids either as strings or as expanded objects, amounts in minor
units and currencies in lower case; everything here reads them tolerantly.
"""

import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from src.money import from_minor_units
from src.providers.base import ObservedRefund, ProviderEvent, ProviderEventKind


def uuid_of(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def id_of(value: Any) -> str | None:
    """Stripe answers an id or an expanded object (localstripe always expands)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        found = value.get("id")
        return str(found) if found else None
    return str(value["id"]) if "id" in value else None


def amount_of(minor: Any) -> Decimal | None:
    return None if minor is None else from_minor_units(int(minor))


def translate_event(event: dict[str, Any], provider: str = "stripe") -> ProviderEvent:
    """A verified Stripe event (parsed JSON) as a provider-neutral ``ProviderEvent``."""
    base = {"provider": provider, "event_id": str(event["id"]), "event_type": event["type"]}
    translate = _TRANSLATORS.get(event["type"])
    if translate is None:
        return ProviderEvent(**base, kind=ProviderEventKind.IGNORED)
    return translate(base, event["data"]["object"])


def _intent_event(base: dict[str, Any], intent: dict[str, Any]) -> ProviderEvent:
    metadata = intent.get("metadata") or {}
    error = intent.get("last_payment_error") or {}
    succeeded = base["event_type"] == "payment_intent.succeeded"
    received = intent.get("amount_received") or intent.get("amount")
    return ProviderEvent(
        **base,
        kind=(
            ProviderEventKind.PAYMENT_SUCCEEDED if succeeded else ProviderEventKind.PAYMENT_FAILED
        ),
        invoice_id=uuid_of(metadata.get("invoice_id")),
        payment_id=uuid_of(metadata.get("payment_id")),
        payment_intent_id=intent.get("id"),
        charge_id=id_of(intent.get("latest_charge")),
        customer_id=id_of(intent.get("customer")),
        payment_method_id=id_of(intent.get("payment_method")),
        amount=amount_of(received),
        currency=str(intent.get("currency", "")).upper() or None,
        failure_code=error.get("decline_code") or error.get("code"),
        failure_message=error.get("message"),
    )


def _session_event(base: dict[str, Any], session: dict[str, Any]) -> ProviderEvent:
    if session.get("payment_status") != "paid":
        return ProviderEvent(**base, kind=ProviderEventKind.IGNORED)
    metadata = session.get("metadata") or {}
    return ProviderEvent(
        **base,
        kind=ProviderEventKind.PAYMENT_SUCCEEDED,
        invoice_id=uuid_of(metadata.get("invoice_id") or session.get("client_reference_id")),
        payment_id=uuid_of(metadata.get("payment_id")),
        payment_intent_id=id_of(session.get("payment_intent")),
        session_id=session.get("id"),
        customer_id=id_of(session.get("customer")),
        amount=amount_of(session.get("amount_total")),
        currency=str(session.get("currency", "")).upper() or None,
    )


def _refund_event(base: dict[str, Any], charge: dict[str, Any]) -> ProviderEvent:
    refunds = (charge.get("refunds") or {}).get("data") or []
    return ProviderEvent(
        **base,
        kind=ProviderEventKind.REFUNDED,
        payment_intent_id=id_of(charge.get("payment_intent")),
        charge_id=charge.get("id"),
        currency=str(charge.get("currency", "")).upper() or None,
        refunded_total=amount_of(charge.get("amount_refunded")),
        refunds=tuple(
            ObservedRefund(
                refund_id=str(item["id"]),
                amount=from_minor_units(int(item["amount"])),
                intent_id=uuid_of((item.get("metadata") or {}).get("refund_id")),
            )
            for item in refunds
        ),
    )


def _dispute_event(base: dict[str, Any], dispute: dict[str, Any]) -> ProviderEvent:
    """A chargeback on a charge: opened (``charge.dispute.created``) or closed with its
    outcome in ``status`` (``won``, ``lost``, ``warning_closed`` for an inquiry)."""
    closed = base["event_type"] == "charge.dispute.closed"
    return ProviderEvent(
        **base,
        kind=ProviderEventKind.DISPUTE_CLOSED if closed else ProviderEventKind.DISPUTE_OPENED,
        payment_intent_id=id_of(dispute.get("payment_intent")),
        charge_id=id_of(dispute.get("charge")),
        amount=amount_of(dispute.get("amount")),
        currency=str(dispute.get("currency", "")).upper() or None,
        dispute_id=str(dispute["id"]),
        dispute_status=dispute.get("status"),
    )


_TRANSLATORS: dict[str, Callable[[dict[str, Any], dict[str, Any]], ProviderEvent]] = {
    "payment_intent.succeeded": _intent_event,
    "payment_intent.payment_failed": _intent_event,
    "checkout.session.completed": _session_event,
    "checkout.session.async_payment_succeeded": _session_event,
    "charge.refunded": _refund_event,
    "charge.dispute.created": _dispute_event,
    "charge.dispute.closed": _dispute_event,
}
