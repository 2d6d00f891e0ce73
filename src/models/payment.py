"""Payment records: every attempt to pay an invoice, successful or not (the audit trail)."""

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from src.models.base import Base, IdMixin, TimestampMixin, status_enum


class PaymentStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


class Payment(IdMixin, TimestampMixin, Base):
    """An attempt to pay. ``invoice_id`` is empty only for an attempt on an unknown invoice,
    which is kept all the same (``error_code`` says so)."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount_minor >= 0", name="amount_non_negative"),
        # What a provider claimed is kept as claimed, even a currency we do not sell in.
        CheckConstraint("length(currency) = 3", name="currency_code"),
        Index("ix_payments_invoice", "invoice_id"),
        Index("ix_payments_user_created", "user_id", "created_at"),
        Index("ix_payments_provider_reference", "provider", "provider_reference"),
    )

    invoice_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("invoices.id"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    provider: Mapped[str] = mapped_column(String(32))
    provider_reference: Mapped[str | None] = mapped_column(String(255))
    amount: Mapped[Decimal] = mapped_column("amount_minor")
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[PaymentStatus] = mapped_column(status_enum(PaymentStatus, "payment_status"))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(String(500))
    payload_digest: Mapped[str | None] = mapped_column(String(64))
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None]
