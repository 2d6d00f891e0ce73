"""Holds: reserve tokens, then settle or release them (or let them expire)."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from src.events.base import Command
from src.models.token_hold import HoldStatus
from src.models.token_usage import UsageSource


@dataclass(frozen=True)
class HoldOutcome:
    """A hold and the user's balance right after the command; ``replayed``: answered before."""

    hold_id: uuid.UUID
    user_id: uuid.UUID
    reference: str
    amount: int
    source: UsageSource
    status: HoldStatus
    held_tokens: int
    settled_tokens: int
    usage_id: uuid.UUID | None
    expires_at: datetime
    balance: int
    available: int
    held: int
    replayed: bool


@dataclass(frozen=True, kw_only=True)
class HoldPlacementRequestedEvent(Command[HoldOutcome]):
    name = "tokens.hold_requested"
    user_id: uuid.UUID
    amount: int
    reference: str
    expires_in: int
    api_key_id: uuid.UUID | None = None


@dataclass(frozen=True, kw_only=True)
class HoldSettlementRequestedEvent(Command[HoldOutcome]):
    name = "tokens.hold_settlement_requested"
    user_id: uuid.UUID
    hold_id: uuid.UUID
    amount: int
    api_key_id: uuid.UUID | None = None
    is_admin: bool = False


@dataclass(frozen=True, kw_only=True)
class HoldReleaseRequestedEvent(Command[HoldOutcome]):
    name = "tokens.hold_release_requested"
    user_id: uuid.UUID
    hold_id: uuid.UUID
    api_key_id: uuid.UUID | None = None
    is_admin: bool = False


@dataclass(frozen=True, kw_only=True)
class ExpiredHoldsReleaseRequestedEvent(Command[int]):
    """Release every open hold expired at ``as_of``; answers how many."""

    name = "tokens.expired_holds_release_requested"
    as_of: datetime
    limit: int = 500
