"""Token bundles of the catalog and the purchases made of them."""

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from src.models.base import Base, IdMixin, TimestampMixin, currency_check, status_enum


class TokenBundle(IdMixin, TimestampMixin, Base):
    __tablename__ = "token_bundles"
    __table_args__ = (
        CheckConstraint("price_minor >= 0", name="price_non_negative"),
        CheckConstraint("token_amount > 0", name="token_amount_positive"),
        currency_check(),
    )

    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    token_amount: Mapped[int]
    price: Mapped[Decimal] = mapped_column("price_minor")
    currency: Mapped[str] = mapped_column(String(3))
    is_active: Mapped[bool] = mapped_column(default=True)


# The ledger reference type of a purchase's credit (and of its refund): one per purchase.
PURCHASE_LEDGER_REFERENCE = "token_bundle_purchase"


class PurchaseStatus(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


class TokenBundlePurchase(IdMixin, TimestampMixin, Base):
    """``quantity`` bundles bought in one checkout.

    ``token_amount`` is copied from the bundle at checkout, so a later catalog edit never
    changes what an already-priced purchase credits.
    """

    __tablename__ = "token_bundle_purchases"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("token_amount > 0", name="token_amount_positive"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    bundle_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("token_bundles.id"))
    quantity: Mapped[int]
    token_amount: Mapped[int]
    status: Mapped[PurchaseStatus] = mapped_column(
        status_enum(PurchaseStatus, "purchase_status"), default=PurchaseStatus.PENDING
    )
    completed_at: Mapped[datetime | None]

    bundle: Mapped[TokenBundle] = relationship(lazy="joined")

    @property
    def total_tokens(self) -> int:
        return self.token_amount * self.quantity
