"""Subscriptions and their periods: created PENDING at checkout, started by a captured payment
(``trialing`` when the plan grants a trial), renewed at each period end, and ended by a
cancel, the end of dunning or an abandoned checkout. Every status change is kept."""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship, synonym

from src.clock import utc_now
from src.models.base import Base, IdMixin, TimestampMixin, status_enum
from src.models.plan import Plan


class SubscriptionStatus(StrEnum):
    PENDING = "pending"
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"
    EXPIRED = "expired"


# Statuses that hold the user's one plan slot; the partial unique index makes "one at a time"
# true under concurrency, not only in the service's check.
OPEN_SUBSCRIPTION_STATUSES = (
    SubscriptionStatus.PENDING,
    SubscriptionStatus.TRIALING,
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.PAST_DUE,
)
# Statuses that a renewal moves on from (the period is paid for, or being dunned).
STARTED_STATUSES = (
    SubscriptionStatus.TRIALING,
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.PAST_DUE,
)
_OPEN_SUBSCRIPTION = text("status IN ('pending', 'trialing', 'active', 'past_due')")


class Subscription(IdMixin, TimestampMixin, Base):
    """``current_period_end`` is None for a one-time plan (it never renews nor ends by time).

    ``trial_ends_at`` is set once a trial starts, and the partial unique index on
    (user, plan) where it is set makes "one trial per customer and plan" a database fact.
    """

    __tablename__ = "subscriptions"
    __table_args__ = (
        Index(
            "uq_subscriptions_user_open",
            "user_id",
            unique=True,
            postgresql_where=_OPEN_SUBSCRIPTION,
        ),
        Index(
            "uq_subscriptions_user_plan_trial",
            "user_id",
            "plan_id",
            unique=True,
            postgresql_where=text("trial_ends_at IS NOT NULL"),
        ),
        Index("ix_subscriptions_status_period_end", "status", "current_period_end"),
        Index(
            "ix_subscriptions_next_retry",
            "next_retry_at",
            postgresql_where=text("status = 'past_due'"),
        ),
        CheckConstraint("dunning_attempts >= 0", name="dunning_attempts_non_negative"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id"))
    status: Mapped[SubscriptionStatus] = mapped_column(
        status_enum(SubscriptionStatus, "subscription_status"), default=SubscriptionStatus.PENDING
    )
    starts_at: Mapped[datetime | None]
    current_period_start: Mapped[datetime | None]
    current_period_end: Mapped[datetime | None]
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False)
    canceled_at: Mapped[datetime | None]
    trial_ends_at: Mapped[datetime | None]
    # A downgrade waits for the next renewal: the renewal invoice prices this plan.
    pending_plan_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("plans.id"))
    # Dunning: the failed charges of the open renewal invoice so far (the first attempt
    # included), and when the next retry is due.
    dunning_attempts: Mapped[int] = mapped_column(default=0)
    next_retry_at: Mapped[datetime | None]

    plan: Mapped[Plan] = relationship(lazy="joined", foreign_keys=[plan_id])
    pending_plan: Mapped[Plan | None] = relationship(lazy="joined", foreign_keys=[pending_plan_id])

    # The end of the paid (or trial) period, under the name checkout and capture always used.
    expires_at = synonym("current_period_end")


class SubscriptionStatusChange(IdMixin, Base):
    """Append-only: one row per status a subscription took, with why and as of when."""

    __tablename__ = "subscription_status_history"
    __table_args__ = (
        Index("ix_subscription_status_history_subscription", "subscription_id", "occurred_at"),
    )

    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE")
    )
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(500))
    # The instant the change is about (run-due's --now); created_at is when it was written.
    occurred_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
