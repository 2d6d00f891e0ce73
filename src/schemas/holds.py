"""Holds: reserve tokens, then settle or release them."""

import uuid
from datetime import datetime

from pydantic import Field

from src.events.hold_events import HoldOutcome
from src.models.token_hold import HoldStatus
from src.models.token_usage import UsageSource
from src.schemas.common import BodyInt, RequestModel, ResponseModel

DEFAULT_HOLD_SECONDS = 900
MAX_HOLD_SECONDS = 86_400
# Also a CHECK on token_holds.amount (migration 0013): schema and column agree.
MAX_HOLD_AMOUNT = 1_000_000


class HoldRequest(RequestModel):
    amount: BodyInt = Field(ge=1, le=MAX_HOLD_AMOUNT)
    reference: str = Field(
        min_length=1, max_length=255, description="Your id for the work; unique per user."
    )
    expires_in: BodyInt = Field(
        default=DEFAULT_HOLD_SECONDS,
        ge=1,
        le=MAX_HOLD_SECONDS,
        description="Seconds until the hold is released by itself.",
    )


class HoldSettleRequest(RequestModel):
    amount: BodyInt = Field(
        ge=1, le=MAX_HOLD_AMOUNT, description="What the work cost: at most the hold."
    )


class HoldOut(ResponseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    reference: str
    amount: int
    source: UsageSource = Field(description="What covers the use; only ``tokens`` holds tokens.")
    status: HoldStatus
    held_tokens: int
    settled_tokens: int
    usage_id: uuid.UUID | None = Field(description="The use a settle recorded.")
    expires_at: datetime
    balance: int = Field(description="The user's balance: available + held.")
    available: int
    held: int

    @classmethod
    def from_result(cls, outcome: HoldOutcome) -> "HoldOut":
        return cls(
            id=outcome.hold_id,
            user_id=outcome.user_id,
            reference=outcome.reference,
            amount=outcome.amount,
            source=outcome.source,
            status=outcome.status,
            held_tokens=outcome.held_tokens,
            settled_tokens=outcome.settled_tokens,
            usage_id=outcome.usage_id,
            expires_at=outcome.expires_at,
            balance=outcome.balance,
            available=outcome.available,
            held=outcome.held,
        )
