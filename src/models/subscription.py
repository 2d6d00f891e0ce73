"""Subscriptions: created PENDING at checkout, activated by a captured payment."""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from src.models.base import Base, IdMixin, TimestampMixin, status_enum
from src.models.plan import Plan


class SubscriptionStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


# A user holds at most one subscription that is pending or active; the partial unique index
# makes that true under concurrency, not just in the service's check.
_OPEN_SUBSCRIPTION = text("status IN ('pending', 'active')")


class Subscription(IdMixin, TimestampMixin, Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        Index(
            "uq_subscriptions_user_open",
            "user_id",
            unique=True,
            postgresql_where=_OPEN_SUBSCRIPTION,
        ),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plans.id"))
    status: Mapped[SubscriptionStatus] = mapped_column(
        status_enum(SubscriptionStatus, "subscription_status"), default=SubscriptionStatus.PENDING
    )
    starts_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]

    plan: Mapped[Plan] = relationship(lazy="joined")
