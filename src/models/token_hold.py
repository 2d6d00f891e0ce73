"""Holds: tokens reserved for paid work whose cost is known only at the end.

A hold moves tokens from available to held on the balance row (``held``, with
``0 <= held <= balance``); settling charges part of them and returns the rest, releasing (or
expiry) returns them all. ``status`` leaves ``open`` exactly once, so exactly one of settle,
release and expiry wins a hold.
"""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from src.clock import utc_now
from src.models.base import Base, IdMixin, status_enum
from src.models.token_usage import UsageSource


class HoldStatus(StrEnum):
    OPEN = "open"
    SETTLED = "settled"
    RELEASED = "released"
    EXPIRED = "expired"


class TokenHold(IdMixin, Base):
    """``held_tokens`` is what the hold takes from available (0 when a subscription or a trial
    credit covers the use: ``source`` says which)."""

    __tablename__ = "token_holds"
    __table_args__ = (
        UniqueConstraint("user_id", "reference"),
        CheckConstraint("amount > 0", name="amount_positive"),
        # The hold schema's bound (MAX_HOLD_AMOUNT), kept by the column too (0013).
        CheckConstraint("amount <= 1000000", name="amount_max"),
        CheckConstraint("held_tokens >= 0", name="held_tokens_non_negative"),
        CheckConstraint(
            "settled_tokens >= 0 AND settled_tokens <= held_tokens",
            name="settled_tokens_range",
        ),
        Index("ix_token_holds_open_expires", "expires_at", postgresql_where="status = 'open'"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    reference: Mapped[str] = mapped_column(String(255))
    amount: Mapped[int]
    held_tokens: Mapped[int]
    settled_tokens: Mapped[int] = mapped_column(default=0)
    source: Mapped[UsageSource] = mapped_column(status_enum(UsageSource, "usage_source"))
    status: Mapped[HoldStatus] = mapped_column(
        status_enum(HoldStatus, "hold_status"), default=HoldStatus.OPEN
    )
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_keys.id"))
    usage_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("token_usages.id"))
    expires_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
