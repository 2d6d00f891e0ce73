"""What a checkout creates: subscriptions, token bundle purchases and add-on subscriptions."""

import uuid
from datetime import datetime

from src.models.addon import AddOnSubscription
from src.models.plan import BillingPeriod
from src.models.subscription import Subscription, SubscriptionStatus
from src.models.token_bundle import PurchaseStatus, TokenBundlePurchase
from src.schemas.common import ResponseModel


class SubscriptionOut(ResponseModel):
    id: uuid.UUID
    plan_id: uuid.UUID
    plan_name: str
    billing_period: BillingPeriod
    status: SubscriptionStatus
    starts_at: datetime | None
    expires_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, subscription: Subscription) -> "SubscriptionOut":
        return cls(
            id=subscription.id,
            plan_id=subscription.plan_id,
            plan_name=subscription.plan.name,
            billing_period=subscription.plan.billing_period,
            status=subscription.status,
            starts_at=subscription.starts_at,
            expires_at=subscription.expires_at,
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
    def of(cls, purchase: TokenBundlePurchase) -> "TokenBundlePurchaseOut":
        return cls(
            id=purchase.id,
            bundle_id=purchase.bundle_id,
            name=purchase.bundle.name,
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
    def of(cls, addon_subscription: AddOnSubscription) -> "AddOnSubscriptionOut":
        return cls(
            id=addon_subscription.id,
            add_on_id=addon_subscription.addon_id,
            name=addon_subscription.add_on.name,
            subscription_id=addon_subscription.subscription_id,
            status=addon_subscription.status,
            starts_at=addon_subscription.starts_at,
            expires_at=addon_subscription.expires_at,
        )
