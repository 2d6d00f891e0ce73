"""Payment capture: the command (from a webhook, a recovery check or an admin) and its facts."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from src.events.base import Command, Notification
from src.schemas.payment import CaptureOutcome


@dataclass(frozen=True, kw_only=True)
class PaymentCapturedEvent(Command[CaptureOutcome]):
    """Command: a payment for ``invoice_id`` was confirmed; activate what it bought.

    ``amount``/``currency`` are what the payer's side says was paid, checked against the
    invoice; ``None`` (the admin path only) settles the invoice in full.
    """

    name = "payment.captured"
    invoice_id: uuid.UUID
    payment_reference: str
    provider: str
    amount: Decimal | None
    currency: str | None
    payload_digest: str | None = None
    recorded_by: uuid.UUID | None = None
    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class InvoicePaidEvent(Notification):
    name = "invoice.paid"
    invoice_id: uuid.UUID
    user_id: uuid.UUID
    amount: Decimal
    currency: str
    provider: str
    payment_reference: str


@dataclass(frozen=True, kw_only=True)
class SubscriptionActivatedEvent(Notification):
    name = "subscription.activated"
    subscription_id: uuid.UUID
    user_id: uuid.UUID
    expires_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class TokensCreditedEvent(Notification):
    name = "tokens.credited"
    user_id: uuid.UUID
    amount: int
    balance_after: int
    purchase_id: uuid.UUID


@dataclass(frozen=True, kw_only=True)
class AddOnActivatedEvent(Notification):
    name = "addon.activated"
    addon_subscription_id: uuid.UUID
    user_id: uuid.UUID
    expires_at: datetime | None
