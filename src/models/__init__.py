"""All models, imported here so the metadata (and Alembic) sees every table."""

from src.models.addon import AddOn, AddOnSubscription
from src.models.base import Base
from src.models.idempotency_key import IdempotencyKey
from src.models.invoice import Invoice, InvoiceLineItem, InvoiceStatus, LineItemType
from src.models.payment import Payment, PaymentStatus
from src.models.plan import BillingPeriod, Plan
from src.models.subscription import Subscription, SubscriptionStatus
from src.models.token_bundle import PurchaseStatus, TokenBundle, TokenBundlePurchase
from src.models.token_ledger import TokenTransaction, TokenTransactionType, UserTokenBalance
from src.models.user import User, UserRole

__all__ = [
    "AddOn",
    "AddOnSubscription",
    "Base",
    "BillingPeriod",
    "IdempotencyKey",
    "Invoice",
    "InvoiceLineItem",
    "InvoiceStatus",
    "LineItemType",
    "Payment",
    "PaymentStatus",
    "Plan",
    "PurchaseStatus",
    "Subscription",
    "SubscriptionStatus",
    "TokenBundle",
    "TokenBundlePurchase",
    "TokenTransaction",
    "TokenTransactionType",
    "User",
    "UserRole",
    "UserTokenBalance",
]
