"""Uses of the paid service: one row per consume call, idempotent per caller reference."""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from src.clock import utc_now
from src.models.base import Base, IdMixin, status_enum

# token_transactions.reference_type of the ledger entries of a use (and of its refund)
USAGE_REFERENCE = "token_usage"


class UsageSource(StrEnum):
    """What paid for a use, in the entitlement order: subscription, then trial, then tokens."""

    SUBSCRIPTION = "subscription"
    TRIAL = "trial"
    TOKENS = "tokens"


class UsageStatus(StrEnum):
    CHARGED = "charged"
    REFUNDED = "refunded"


class TokenUsage(IdMixin, Base):
    """``reference`` is the caller's id for the work, unique per user: a retry of a consume
    finds this row and replays its answer instead of charging again."""

    __tablename__ = "token_usages"
    __table_args__ = (
        UniqueConstraint("user_id", "reference"),
        CheckConstraint("requested_amount > 0", name="requested_amount_positive"),
        # The consume schema's bound (MAX_CONSUME_AMOUNT), kept by the column too (0013).
        CheckConstraint("requested_amount <= 1000000", name="requested_amount_max"),
        CheckConstraint("charged_tokens >= 0", name="charged_tokens_non_negative"),
        CheckConstraint("balance_after >= 0", name="balance_after_non_negative"),
        Index("ix_token_usages_user_created", "user_id", "created_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    reference: Mapped[str] = mapped_column(String(255))
    requested_amount: Mapped[int]
    charged_tokens: Mapped[int] = mapped_column(default=0)
    source: Mapped[UsageSource] = mapped_column(status_enum(UsageSource, "usage_source"))
    status: Mapped[UsageStatus] = mapped_column(
        status_enum(UsageStatus, "usage_status"), default=UsageStatus.CHARGED
    )
    description: Mapped[str | None] = mapped_column(String(255))
    balance_after: Mapped[int] = mapped_column(default=0)
    # Who asked: the user's own token, or a service's API key acting for the user.
    api_key_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_keys.id"))
    refund_reason: Mapped[str | None] = mapped_column(String(500))
    refunded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
