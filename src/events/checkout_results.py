"""What a checkout answers: the pending things it created, as they stood at its commit.

The result is also what an Idempotency-Key stores, so a retry is rendered from the first
checkout's values rather than from rows that may have moved on (paid, cancelled) since.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from src.events.invoice_results import InvoiceSnapshot
from src.models.addon import AddOnSubscription
from src.models.plan import BillingPeriod
from src.models.subscription import Subscription, SubscriptionStatus
from src.models.token_bundle import PurchaseStatus, TokenBundlePurchase


@dataclass(frozen=True)
class SubscriptionSnapshot:
    id: uuid.UUID
    plan_id: uuid.UUID
    plan_name: str
    billing_period: BillingPeriod
    status: SubscriptionStatus
    starts_at: datetime | None
    expires_at: datetime | None
    created_at: datetime
    current_period_start: datetime | None = None
    current_period_end: datetime | None = None
    trial_ends_at: datetime | None = None

    @classmethod
    def of(cls, subscription: Subscription) -> "SubscriptionSnapshot":
        return cls(
            id=subscription.id,
            plan_id=subscription.plan_id,
            plan_name=subscription.plan.name,
            billing_period=subscription.plan.billing_period,
            status=subscription.status,
            starts_at=subscription.starts_at,
            expires_at=subscription.expires_at,
            created_at=subscription.created_at,
            current_period_start=subscription.current_period_start,
            current_period_end=subscription.current_period_end,
            trial_ends_at=subscription.trial_ends_at,
        )


@dataclass(frozen=True)
class PurchaseSnapshot:
    id: uuid.UUID
    bundle_id: uuid.UUID
    name: str
    token_amount: int
    quantity: int
    total_tokens: int
    status: PurchaseStatus

    @classmethod
    def of(cls, purchase: TokenBundlePurchase) -> "PurchaseSnapshot":
        return cls(
            id=purchase.id,
            bundle_id=purchase.bundle_id,
            name=purchase.bundle.name,
            token_amount=purchase.token_amount,
            quantity=purchase.quantity,
            total_tokens=purchase.total_tokens,
            status=purchase.status,
        )


@dataclass(frozen=True)
class AddOnSubscriptionSnapshot:
    id: uuid.UUID
    add_on_id: uuid.UUID
    name: str
    subscription_id: uuid.UUID
    status: SubscriptionStatus
    starts_at: datetime | None
    expires_at: datetime | None

    @classmethod
    def of(cls, addon_subscription: AddOnSubscription) -> "AddOnSubscriptionSnapshot":
        return cls(
            id=addon_subscription.id,
            add_on_id=addon_subscription.addon_id,
            name=addon_subscription.add_on.name,
            subscription_id=addon_subscription.subscription_id,
            status=addon_subscription.status,
            starts_at=addon_subscription.starts_at,
            expires_at=addon_subscription.expires_at,
        )


@dataclass(frozen=True)
class CheckoutResult:
    """Field names follow the checkout response, so a key stored as the rendered response
    (before results were stored) still restores: its extra fields are ignored."""

    subscription: SubscriptionSnapshot | None
    invoice: InvoiceSnapshot
    token_bundles: tuple[PurchaseSnapshot, ...]
    add_ons: tuple[AddOnSubscriptionSnapshot, ...]


@dataclass(frozen=True)
class CheckoutOutcome:
    """The result, and whether it was replayed for a repeated Idempotency-Key."""

    result: CheckoutResult
    replayed: bool = False


_STORED_RESULT = TypeAdapter(CheckoutResult)


def stored_form(result: CheckoutResult) -> dict[str, Any]:
    """JSON-ready and lossless (decimals keep their exponent), for the idempotency row."""
    body: dict[str, Any] = _STORED_RESULT.dump_python(result, mode="json")
    return body


def restored(body: dict[str, Any]) -> CheckoutResult:
    return _STORED_RESULT.validate_python(body)
