"""Spending tokens, refunding a use, entitlement and auto-reload payloads."""

import uuid
from dataclasses import dataclass

from pydantic import Field

from src.models.token_usage import UsageSource, UsageStatus
from src.schemas.billing import SubscriptionOut
from src.schemas.common import RequestModel, ResponseModel


class ConsumeRequest(RequestModel):
    amount: int = Field(ge=1, le=1_000_000)
    reference: str = Field(
        min_length=1, max_length=255, description="Your id for the work; unique per user."
    )
    description: str | None = Field(default=None, max_length=255)


class ConsumeResponse(ResponseModel):
    usage_id: uuid.UUID
    balance: int
    source: UsageSource
    charged_tokens: int


class UsageRefundRequest(RequestModel):
    reason: str | None = Field(default=None, max_length=500)


class UsageRefundResponse(ResponseModel):
    usage_id: uuid.UUID
    status: UsageStatus
    balance: int
    trial_remaining: int


class EntitlementOut(ResponseModel):
    source: UsageSource | None
    subscription: SubscriptionOut | None
    trial_remaining: int
    token_balance: int


class AutoReloadRequest(RequestModel):
    enabled: bool
    threshold: int = Field(ge=1, le=100)
    bundle_id: uuid.UUID


class AutoReloadOut(ResponseModel):
    enabled: bool
    threshold: int
    bundle_id: uuid.UUID
    failure_count: int
    disabled_reason: str | None


class AdjustTokensRequest(RequestModel):
    amount: int = Field(description="Positive: a bonus. Negative: a correction.")
    reason: str = Field(min_length=1, max_length=255)


class AdjustTokensResponse(ResponseModel):
    user_id: uuid.UUID
    transaction_id: uuid.UUID
    type: str
    amount: int
    balance: int


@dataclass(frozen=True)
class ConsumeOutcome:
    response: ConsumeResponse
    replayed: bool


@dataclass(frozen=True)
class AutoReloadAttempt:
    status: str  # started | skipped | failed
    reason: str | None = None
    invoice_id: uuid.UUID | None = None
