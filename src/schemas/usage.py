"""Spending tokens, refunding a use, entitlement and auto-reload payloads."""

import uuid

from pydantic import Field

from src.events.token_results import (
    AutoReloadSettings,
    TokenAdjustment,
    UsageCharge,
    UsageRefundOutcome,
)
from src.models.token_usage import UsageSource, UsageStatus
from src.schemas.billing import SubscriptionOut
from src.schemas.common import INT32_MAX, BodyBool, BodyInt, RequestModel, ResponseModel

# Also a CHECK on token_usages.requested_amount (migration 0013).
MAX_CONSUME_AMOUNT = 1_000_000


class ConsumeRequest(RequestModel):
    amount: BodyInt = Field(ge=1, le=MAX_CONSUME_AMOUNT)
    reference: str = Field(
        min_length=1, max_length=255, description="Your id for the work; unique per user."
    )
    description: str | None = Field(default=None, max_length=255)


class ConsumeResponse(ResponseModel):
    usage_id: uuid.UUID
    balance: int
    source: UsageSource
    charged_tokens: int

    @classmethod
    def from_result(cls, charge: UsageCharge) -> "ConsumeResponse":
        return cls(
            usage_id=charge.usage_id,
            balance=charge.balance,
            source=charge.source,
            charged_tokens=charge.charged_tokens,
        )


class UsageRefundRequest(RequestModel):
    reason: str | None = Field(default=None, max_length=500)


class UsageRefundResponse(ResponseModel):
    usage_id: uuid.UUID
    status: UsageStatus
    balance: int
    trial_remaining: int

    @classmethod
    def from_result(cls, outcome: UsageRefundOutcome) -> "UsageRefundResponse":
        return cls(
            usage_id=outcome.usage_id,
            status=outcome.status,
            balance=outcome.balance,
            trial_remaining=outcome.trial_remaining,
        )


class EntitlementOut(ResponseModel):
    source: UsageSource | None
    subscription: SubscriptionOut | None
    trial_remaining: int
    token_balance: int


class AutoReloadRequest(RequestModel):
    enabled: BodyBool
    threshold: BodyInt = Field(ge=1, le=100)
    bundle_id: uuid.UUID


class AutoReloadOut(ResponseModel):
    enabled: bool
    threshold: int
    bundle_id: uuid.UUID
    failure_count: int
    disabled_reason: str | None

    @classmethod
    def from_result(cls, settings: AutoReloadSettings) -> "AutoReloadOut":
        return cls(
            enabled=settings.enabled,
            threshold=settings.threshold,
            bundle_id=settings.bundle_id,
            failure_count=settings.failure_count,
            disabled_reason=settings.disabled_reason,
        )


class AdjustTokensRequest(RequestModel):
    amount: BodyInt = Field(
        ge=-INT32_MAX,
        le=INT32_MAX,
        description="Positive: a bonus. Negative: a correction. Within the balance's range.",
        # Zero is refused (zero_adjustment), and the document says so.
        json_schema_extra={"not": {"const": 0}},
    )
    reason: str = Field(min_length=1, max_length=255)


class AdjustTokensResponse(ResponseModel):
    user_id: uuid.UUID
    transaction_id: uuid.UUID
    type: str
    amount: int
    balance: int

    @classmethod
    def from_result(cls, adjustment: TokenAdjustment) -> "AdjustTokensResponse":
        return cls(
            user_id=adjustment.user_id,
            transaction_id=adjustment.transaction_id,
            type=adjustment.transaction_type.value,
            amount=adjustment.amount,
            balance=adjustment.balance,
        )
