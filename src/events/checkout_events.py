"""Checkout: the command a route emits, and the facts published after it commits."""

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from src.events.base import Command, Notification
from src.events.checkout_results import CheckoutOutcome


@dataclass(frozen=True, kw_only=True)
class CheckoutRequestedEvent(Command[CheckoutOutcome]):
    """Command: a user asked to buy a plan, token bundles and add-ons in one go."""

    name = "checkout.requested"
    user_id: uuid.UUID
    plan_id: uuid.UUID | None = None
    token_bundle_ids: tuple[uuid.UUID, ...] = field(default_factory=tuple)
    add_on_ids: tuple[uuid.UUID, ...] = field(default_factory=tuple)
    idempotency_key: str | None = None


@dataclass(frozen=True, kw_only=True)
class SubscriptionCreatedEvent(Notification):
    name = "subscription.created"
    subscription_id: uuid.UUID
    user_id: uuid.UUID
    plan_id: uuid.UUID
    status: str


@dataclass(frozen=True, kw_only=True)
class InvoiceCreatedEvent(Notification):
    name = "invoice.created"
    invoice_id: uuid.UUID
    user_id: uuid.UUID
    number: str
    total_amount: Decimal
    currency: str
