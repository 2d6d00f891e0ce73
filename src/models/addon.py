"""Add-ons of the catalog and the add-on subscriptions hanging off a parent subscription."""

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from src.models.base import Base, IdMixin, TimestampMixin, currency_check, status_enum
from src.models.plan import BillingPeriod
from src.models.subscription import Subscription, SubscriptionStatus


class AddOn(IdMixin, TimestampMixin, Base):
    __tablename__ = "addons"
    __table_args__ = (
        CheckConstraint("price_minor >= 0", name="price_non_negative"),
        currency_check(),
    )

    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    price: Mapped[Decimal] = mapped_column("price_minor")
    currency: Mapped[str] = mapped_column(String(3))
    billing_period: Mapped[BillingPeriod] = mapped_column(
        status_enum(BillingPeriod, "addon_billing_period")
    )
    is_active: Mapped[bool] = mapped_column(default=True)


_OPEN_ADDON = text("status IN ('pending', 'active')")


class AddOnSubscription(IdMixin, TimestampMixin, Base):
    """One add-on for one user, under a parent subscription; at most one open per add-on."""

    __tablename__ = "addon_subscriptions"
    __table_args__ = (
        Index(
            "uq_addon_subscriptions_user_addon_open",
            "user_id",
            "addon_id",
            unique=True,
            postgresql_where=_OPEN_ADDON,
        ),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    addon_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("addons.id"))
    subscription_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    status: Mapped[SubscriptionStatus] = mapped_column(
        status_enum(SubscriptionStatus, "addon_subscription_status"),
        default=SubscriptionStatus.PENDING,
    )
    starts_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    canceled_at: Mapped[datetime | None]

    add_on: Mapped[AddOn] = relationship(lazy="joined")
    subscription: Mapped[Subscription] = relationship()
