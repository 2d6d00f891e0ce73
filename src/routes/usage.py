"""Spending shared by the user's routes and the service (API key) routes."""

import uuid

from src.events.dispatcher import EventDispatcher
from src.events.token_events import TokensConsumeRequestedEvent, UsageRefundRequestedEvent
from src.openapi import ViewResult
from src.schemas.usage import (
    ConsumeRequest,
    ConsumeResponse,
    UsageRefundRequest,
    UsageRefundResponse,
)

REPLAYED = {"Idempotent-Replayed": "true"}


def consume(
    dispatcher: EventDispatcher,
    user_id: uuid.UUID,
    body: ConsumeRequest,
    api_key_id: uuid.UUID | None = None,
) -> ViewResult:
    """201 with the usage; the same reference again replays it (same body, marked replayed)."""
    outcome = dispatcher.emit(
        TokensConsumeRequestedEvent(
            user_id=user_id,
            amount=body.amount,
            reference=body.reference,
            description=body.description,
            api_key_id=api_key_id,
        )
    ).data
    return ConsumeResponse.from_result(outcome.usage), 201, REPLAYED if outcome.replayed else {}


def refund_usage(
    dispatcher: EventDispatcher,
    user_id: uuid.UUID,
    usage_id: uuid.UUID,
    body: UsageRefundRequest,
    *,
    api_key_id: uuid.UUID | None = None,
    admin_id: uuid.UUID | None = None,
) -> ViewResult:
    """Given back only by the API key that charged the use or by an admin (403 otherwise)."""
    outcome = dispatcher.emit(
        UsageRefundRequestedEvent(
            user_id=user_id,
            usage_id=usage_id,
            reason=body.reason,
            api_key_id=api_key_id,
            admin_id=admin_id,
        )
    ).data
    return UsageRefundResponse.from_result(outcome)
