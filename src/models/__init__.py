"""All models, imported here so the metadata (and Alembic) sees every table."""

from src.models.addon import AddOn, AddOnSubscription
from src.models.api_key import ApiKey
from src.models.auto_reload import AutoReloadSetting
from src.models.base import Base
from src.models.idempotency_key import IdempotencyKey
from src.models.invoice import Invoice, InvoiceLineItem, InvoiceStatus, LineItemType
from src.models.payment import (
    Payment,
    PaymentRefund,
    PaymentStatus,
    PaymentStatusChange,
    WebhookEvent,
)
from src.models.plan import BillingPeriod, Plan
from src.models.subscription import Subscription, SubscriptionStatus, SubscriptionStatusChange
from src.models.token_bundle import PurchaseStatus, TokenBundle, TokenBundlePurchase
from src.models.token_hold import HoldStatus, TokenHold
from src.models.token_ledger import TokenTransaction, TokenTransactionType, UserTokenBalance
from src.models.token_usage import TokenUsage, UsageSource, UsageStatus
from src.models.user import User, UserRole

__all__ = [
    "AddOn",
    "AddOnSubscription",
    "ApiKey",
    "AutoReloadSetting",
    "Base",
    "BillingPeriod",
    "IdempotencyKey",
    "Invoice",
    "InvoiceLineItem",
    "InvoiceStatus",
    "LineItemType",
    "Payment",
    "PaymentRefund",
    "PaymentStatus",
    "PaymentStatusChange",
    "HoldStatus",
    "Plan",
    "PurchaseStatus",
    "Subscription",
    "SubscriptionStatus",
    "SubscriptionStatusChange",
    "TokenBundle",
    "TokenBundlePurchase",
    "TokenHold",
    "TokenTransaction",
    "TokenTransactionType",
    "TokenUsage",
    "UsageSource",
    "UsageStatus",
    "User",
    "UserRole",
    "UserTokenBalance",
    "WebhookEvent",
]
