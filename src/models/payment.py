"""Payment records: every attempt to pay an invoice, its status history, refunds, and the
provider events already processed (the audit trail and the idempotency ledger)."""

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from src.clock import utc_now
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
    # The provider confirmed money the invoice cannot take: nothing granted, it goes back.
    REQUIRES_REFUND = "requires_refund"
    # A chargeback is open; the grants are taken back meanwhile.
    DISPUTED = "disputed"


# The only moves a payment may make; any other raises InvalidState (PaymentService.move). A
# payment never goes backwards. Money the provider confirms is real whatever we did first, so a
# failed, expired or cancelled payment may still complete, or require a refund when its invoice
# can no longer take it (the same row, never a second one).
ALLOWED_TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    PaymentStatus.PENDING: frozenset(
        {
            PaymentStatus.PROCESSING,
            PaymentStatus.COMPLETED,
            PaymentStatus.FAILED,
            PaymentStatus.EXPIRED,
            PaymentStatus.CANCELLED,
            PaymentStatus.REQUIRES_REFUND,
        }
    ),
    PaymentStatus.PROCESSING: frozenset(
        {
            PaymentStatus.COMPLETED,
            PaymentStatus.FAILED,
            PaymentStatus.CANCELLED,
            PaymentStatus.REQUIRES_REFUND,
        }
    ),
    PaymentStatus.FAILED: frozenset(
        {PaymentStatus.PROCESSING, PaymentStatus.COMPLETED, PaymentStatus.REQUIRES_REFUND}
    ),
    PaymentStatus.EXPIRED: frozenset(
        {PaymentStatus.COMPLETED, PaymentStatus.FAILED, PaymentStatus.REQUIRES_REFUND}
    ),
    PaymentStatus.CANCELLED: frozenset({PaymentStatus.COMPLETED, PaymentStatus.REQUIRES_REFUND}),
    PaymentStatus.COMPLETED: frozenset(
        {PaymentStatus.REFUNDED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.DISPUTED}
    ),
    PaymentStatus.PARTIALLY_REFUNDED: frozenset(
        {PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED, PaymentStatus.DISPUTED}
    ),
    PaymentStatus.REFUNDED: frozenset(),
    PaymentStatus.REQUIRES_REFUND: frozenset({PaymentStatus.REFUNDED}),
    # A dispute won restores the payment; a lost one is money returned to the customer.
    PaymentStatus.DISPUTED: frozenset({PaymentStatus.COMPLETED, PaymentStatus.REFUNDED}),
}
OPEN_PAYMENT_STATUSES = (PaymentStatus.PENDING, PaymentStatus.PROCESSING)
# The method of an auto-reload's payment: charged off-session to the saved card.
OFF_SESSION = "off_session"
# The method of a renewal's or an upgrade's payment: its invoice charged off-session to the
# saved card (not OFF_SESSION: that one is limited to one in flight per user, for reloads).
SAVED_CARD = "saved_card"


class RefundStatus(StrEnum):
    """A refund is an intent first (``requested``), then what the provider answered."""

    REQUESTED = "requested"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Payment(IdMixin, TimestampMixin, Base):
    """An attempt to pay. ``invoice_id`` is empty only for an attempt on an unknown invoice,
    which is kept all the same (``error_code`` says so)."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount_minor >= 0", name="amount_non_negative"),
        CheckConstraint(
            "refunded_minor >= 0 AND refunded_minor <= amount_minor", name="refund_within_amount"
        ),
        # What a provider claimed is kept as claimed, even a currency we do not sell in.
        CheckConstraint("length(currency) = 3", name="currency_code"),
        Index("ix_payments_invoice", "invoice_id"),
        Index("ix_payments_user_created", "user_id", "created_at"),
        Index("ix_payments_provider_reference", "provider", "provider_reference"),
        Index("ix_payments_payment_intent", "provider_payment_intent_id"),
        Index("ix_payments_session", "provider_session_id"),
        Index("ix_payments_charge", "provider_charge_id"),
        Index("ix_payments_status_created", "status", "created_at"),
        # One auto-reload in flight per user, until the provider reports a terminal state.
        Index(
            "uq_payments_open_auto_reload",
            "user_id",
            unique=True,
            postgresql_where=text(
                f"method = '{OFF_SESSION}' AND status IN ('pending', 'processing')"
            ),
        ),
    )

    invoice_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("invoices.id"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    provider: Mapped[str] = mapped_column(String(32))
    provider_reference: Mapped[str | None] = mapped_column(String(255))
    provider_payment_intent_id: Mapped[str | None] = mapped_column(String(255))
    provider_session_id: Mapped[str | None] = mapped_column(String(255))
    provider_charge_id: Mapped[str | None] = mapped_column(String(255))
    method: Mapped[str | None] = mapped_column(String(32))
    amount: Mapped[Decimal] = mapped_column("amount_minor")
    refunded_amount: Mapped[Decimal] = mapped_column("refunded_minor", default=Decimal("0.00"))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[PaymentStatus] = mapped_column(status_enum(PaymentStatus, "payment_status"))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(String(500))
    payload_digest: Mapped[str | None] = mapped_column(String(64))
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    # Until when a request (or the janitor) may be creating this payment at its provider:
    # set while the payment has no provider ids, so nobody else calls the provider for it.
    start_lease_until: Mapped[datetime | None]


class PaymentStatusChange(IdMixin, Base):
    """Append-only: one row per status a payment took, with why."""

    __tablename__ = "payment_status_history"
    __table_args__ = (Index("ix_payment_status_history_payment", "payment_id", "created_at"),)

    payment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(500))
    provider_event_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class PaymentRefund(IdMixin, Base):
    """A refund of (part of) a payment. The provider's refund id is unique, so a refund we made
    and then hear about in a webhook is recorded once."""

    __tablename__ = "payment_refunds"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("tokens_reversed >= 0 AND tokens_shortfall >= 0", name="tokens_counts"),
        UniqueConstraint("provider_refund_id"),
        # An admin's retry with the same Idempotency-Key finds the refund it asked for.
        UniqueConstraint("payment_id", "idempotency_key"),
        Index("ix_payment_refunds_payment", "payment_id"),
        Index("ix_payment_refunds_status", "status", "created_at"),
    )

    payment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payments.id"))
    amount: Mapped[Decimal] = mapped_column("amount_minor")
    currency: Mapped[str] = mapped_column(String(3))
    provider_refund_id: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    tokens_reversed: Mapped[int] = mapped_column(default=0)
    tokens_shortfall: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    status: Mapped[RefundStatus] = mapped_column(
        status_enum(RefundStatus, "refund_status"), default=RefundStatus.SUCCEEDED
    )
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    force: Mapped[bool] = mapped_column(default=False)
    failure_message: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime | None]
    # Until when a request, job or janitor may be asking the provider for this refund (while
    # it is ``requested``): nobody else calls the provider for it meanwhile.
    attempt_lease_until: Mapped[datetime | None]


class WebhookEvent(IdMixin, Base):
    """A provider event already processed. Inserted in the same transaction as its effects,
    so a redelivery finds it and changes nothing; a failed processing leaves no row."""

    __tablename__ = "webhook_events"
    # received_at is indexed for retention (rows past the providers' redelivery window).
    __table_args__ = (
        UniqueConstraint("provider", "event_id"),
        Index("ix_webhook_events_received_at", "received_at"),
    )

    provider: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(default=utc_now)
