"""Invoices and their line items: one line per thing bought, priced from the catalog."""

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from src.models.base import Base, IdMixin, TimestampMixin, currency_check, status_enum


class InvoiceStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REFUNDED = "refunded"
    # Dunning gave up on a renewal invoice: it can no longer be paid.
    UNCOLLECTIBLE = "uncollectible"


class InvoiceKind(StrEnum):
    """Why the invoice exists: a checkout (or auto-reload), a period's renewal of a
    subscription, or the proration of an upgrade within a period."""

    PURCHASE = "purchase"
    RENEWAL = "renewal"
    PRORATION = "proration"


class LineItemType(StrEnum):
    SUBSCRIPTION = "subscription"
    TOKEN_BUNDLE = "token_bundle"
    ADD_ON = "add_on"


class Invoice(IdMixin, TimestampMixin, Base):
    """What a user owes for one checkout.

    ``(provider, payment_reference)`` is unique: one provider payment can never settle two
    invoices. A paid invoice always carries its payment's time and reference.
    """

    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint("total_minor >= 0", name="total_non_negative"),
        CheckConstraint(
            "status NOT IN ('paid', 'refunded') "
            "OR (paid_at IS NOT NULL AND payment_reference IS NOT NULL)",
            name="paid_has_payment",
        ),
        currency_check(),
        UniqueConstraint("provider", "payment_reference"),
        Index("ix_invoices_user_created", "user_id", "created_at"),
        Index("ix_invoices_status_created", "status", "created_at"),
        # One renewal invoice per subscription and period, however often renewals run.
        Index(
            "uq_invoices_renewal_period",
            "subscription_id",
            "period_start",
            unique=True,
            postgresql_where=text("kind = 'renewal'"),
        ),
        # One open upgrade per subscription at a time.
        Index(
            "uq_invoices_open_proration",
            "subscription_id",
            unique=True,
            postgresql_where=text("kind = 'proration' AND status = 'pending'"),
        ),
        CheckConstraint(
            "kind = 'purchase' OR (subscription_id IS NOT NULL AND period_start IS NOT NULL "
            "AND period_end IS NOT NULL)",
            name="lifecycle_invoice_has_period",
        ),
        CheckConstraint(
            "kind <> 'proration' OR target_plan_id IS NOT NULL", name="proration_has_target"
        ),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    number: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[InvoiceStatus] = mapped_column(
        status_enum(InvoiceStatus, "invoice_status"), default=InvoiceStatus.PENDING
    )
    currency: Mapped[str] = mapped_column(String(3))
    total_amount: Mapped[Decimal] = mapped_column("total_minor")
    paid_at: Mapped[datetime | None]
    provider: Mapped[str | None] = mapped_column(String(32))
    payment_reference: Mapped[str | None] = mapped_column(String(255))
    cancelled_at: Mapped[datetime | None]
    kind: Mapped[InvoiceKind] = mapped_column(
        status_enum(InvoiceKind, "invoice_kind"), default=InvoiceKind.PURCHASE
    )
    # A renewal or proration invoice: whose subscription, and which period it pays for.
    subscription_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("subscriptions.id"))
    period_start: Mapped[datetime | None]
    period_end: Mapped[datetime | None]
    # A proration invoice: the plan the subscription moves to once it is paid.
    target_plan_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("plans.id"))

    line_items: Mapped[list["InvoiceLineItem"]] = relationship(
        back_populates="invoice",
        order_by="InvoiceLineItem.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )


class InvoiceLineItem(IdMixin, Base):
    """One bought thing. ``item_id`` points at the subscription, purchase or add-on
    subscription the line created (its table depends on ``item_type``)."""

    __tablename__ = "invoice_line_items"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price_minor >= 0", name="unit_price_non_negative"),
        CheckConstraint("total_price_minor = unit_price_minor * quantity", name="total_matches"),
        UniqueConstraint("invoice_id", "position"),
        Index("ix_invoice_line_items_item", "item_type", "item_id"),
    )

    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    position: Mapped[int]
    item_type: Mapped[LineItemType] = mapped_column(status_enum(LineItemType, "line_item_type"))
    item_id: Mapped[uuid.UUID]
    description: Mapped[str] = mapped_column(String(255))
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column("unit_price_minor")
    total_price: Mapped[Decimal] = mapped_column("total_price_minor")

    invoice: Mapped[Invoice] = relationship(back_populates="line_items")
