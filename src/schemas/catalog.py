"""Catalog items as the public sees them."""

import uuid

from src.models.plan import BillingPeriod
from src.schemas.common import MoneyOut, ResponseModel


class CatalogItemOut(ResponseModel):
    id: uuid.UUID
    name: str
    price: MoneyOut
    currency: str


class PlanOut(CatalogItemOut):
    description: str
    billing_period: BillingPeriod
    # A customer's first subscription to the plan is free for this many days (0: no trial).
    trial_days: int = 0


class TokenBundleOut(CatalogItemOut):
    description: str
    token_amount: int


class AddOnOut(CatalogItemOut):
    description: str
    billing_period: BillingPeriod
