"""What a checkout creates: subscriptions, token bundle purchases and add-on subscriptions."""

import uuid
from datetime import datetime

from src.events.checkout_results import (
    AddOnSubscriptionSnapshot,
    PurchaseSnapshot,
    SubscriptionSnapshot,
)
from src.models.plan import BillingPeriod
from src.models.subscription import Subscription, SubscriptionStatus
from src.models.token_bundle import PurchaseStatus
from src.schemas.common import ResponseModel


class SubscriptionOut(ResponseModel):
    id: uuid.UUID
    plan_id: uuid.UUID
    plan_name: str
    billing_period: BillingPeriod
    status: SubscriptionStatus
    starts_at: datetime | None
    # The end of the current period (the same instant as ``current_period_end``).
    expires_at: datetime | None
    current_period_start: datetime | None = None
    current_period_end: datetime | None = None
    # Set when the plan's trial was granted: the subscription starts ``trialing`` once the
    # invoice is paid (at once when there is nothing else to pay).
    trial_ends_at: datetime | None = None
    created_at: datetime

    @classmethod
    def of(cls, subscription: Subscription) -> "SubscriptionOut":
        """A live row (entitlement) renders through its snapshot: one field mapping."""
        return cls.from_result(SubscriptionSnapshot.of(subscription))

    @classmethod
    def from_result(cls, subscription: SubscriptionSnapshot) -> "SubscriptionOut":
        return cls(
            id=subscription.id,
            plan_id=subscription.plan_id,
            plan_name=subscription.plan_name,
            billing_period=subscription.billing_period,
            status=subscription.status,
            starts_at=subscription.starts_at,
            expires_at=subscription.expires_at,
            current_period_start=subscription.current_period_start,
            current_period_end=subscription.current_period_end,
            trial_ends_at=subscription.trial_ends_at,
            created_at=subscription.created_at,
        )


class TokenBundlePurchaseOut(ResponseModel):
    id: uuid.UUID
    bundle_id: uuid.UUID
    name: str
    token_amount: int
    quantity: int
    total_tokens: int
    status: PurchaseStatus

    @classmethod
    def from_result(cls, purchase: PurchaseSnapshot) -> "TokenBundlePurchaseOut":
        return cls(
            id=purchase.id,
            bundle_id=purchase.bundle_id,
            name=purchase.name,
            token_amount=purchase.token_amount,
            quantity=purchase.quantity,
            total_tokens=purchase.total_tokens,
            status=purchase.status,
        )


class AddOnSubscriptionOut(ResponseModel):
    id: uuid.UUID
    add_on_id: uuid.UUID
    name: str
    subscription_id: uuid.UUID
    status: SubscriptionStatus
    starts_at: datetime | None
    expires_at: datetime | None

    @classmethod
    def from_result(cls, addon_subscription: AddOnSubscriptionSnapshot) -> "AddOnSubscriptionOut":
        return cls(
            id=addon_subscription.id,
            add_on_id=addon_subscription.add_on_id,
            name=addon_subscription.name,
            subscription_id=addon_subscription.subscription_id,
            status=addon_subscription.status,
            starts_at=addon_subscription.starts_at,
            expires_at=addon_subscription.expires_at,
        )
