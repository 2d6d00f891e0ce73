"""Subscription plans of the catalog."""

from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from src.models.base import Base, IdMixin, TimestampMixin, currency_check, status_enum


class BillingPeriod(StrEnum):
    MONTHLY = "monthly"
    YEARLY = "yearly"
    ONE_TIME = "one_time"


class Plan(IdMixin, TimestampMixin, Base):
    """A plan a user can subscribe to; ``code`` is the stable key the seed command upserts by."""

    __tablename__ = "plans"
    __table_args__ = (
        CheckConstraint("price_minor >= 0", name="price_non_negative"),
        CheckConstraint("trial_days >= 0 AND trial_days <= 730", name="trial_days_range"),
        currency_check(),
    )

    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    price: Mapped[Decimal] = mapped_column("price_minor")
    currency: Mapped[str] = mapped_column(String(3))
    billing_period: Mapped[BillingPeriod] = mapped_column(
        status_enum(BillingPeriod, "plan_billing_period")
    )
    is_active: Mapped[bool] = mapped_column(default=True)
    # A metered plan does not cover uses: its subscribers pay for each use with tokens.
    usage_metered: Mapped[bool] = mapped_column(default=False)
    # Days a customer's first subscription to this plan is free (0: no trial).
    trial_days: Mapped[int] = mapped_column(default=0)
