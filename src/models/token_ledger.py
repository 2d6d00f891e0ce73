"""Token balances and their append-only ledger.

The balance row is the fast answer; the ledger is the proof. Every change to a balance bumps
its ``version`` and appends exactly one ledger entry carrying that version as ``sequence`` and
the resulting ``balance_after``, in the same transaction. So for every user: balance equals the
sum of the ledger, and the entry with the highest sequence shows the current balance.
"""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from src.clock import utc_now
from src.models.base import Base, IdMixin, status_enum


class TokenTransactionType(StrEnum):
    PURCHASE = "purchase"
    USAGE = "usage"
    REFUND = "refund"
    BONUS = "bonus"
    ADJUSTMENT = "adjustment"
    HOLD = "hold"  # available -> held (amount 0, held_delta > 0)
    HOLD_RELEASE = "hold_release"  # held -> available (amount 0, held_delta < 0)


class UserTokenBalance(Base):
    __tablename__ = "user_token_balances"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance_non_negative"),
        CheckConstraint("held >= 0 AND held <= balance", name="held_range"),
        CheckConstraint("total_purchased >= 0", name="total_purchased_non_negative"),
        CheckConstraint("total_spent >= 0", name="total_spent_non_negative"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    balance: Mapped[int] = mapped_column(default=0)
    # Reserved by open holds; available = balance - held.
    held: Mapped[int] = mapped_column(default=0, server_default="0")
    total_purchased: Mapped[int] = mapped_column(default=0)
    total_spent: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class TokenTransaction(IdMixin, Base):
    """One ledger entry. Never updated, never deleted.

    ``(transaction_type, reference_type, reference_id)`` is unique, so one purchase can never be
    credited twice and one usage never refunded twice, whatever the concurrency.
    """

    __tablename__ = "token_transactions"
    __table_args__ = (
        CheckConstraint("amount <> 0 OR held_delta <> 0", name="amount_or_held_non_zero"),
        CheckConstraint("balance_after >= 0", name="balance_after_non_negative"),
        UniqueConstraint("user_id", "sequence"),
        UniqueConstraint("transaction_type", "reference_type", "reference_id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    sequence: Mapped[int]
    amount: Mapped[int]
    # How the entry moved the balance's ``held`` (holds, settles, releases); 0 otherwise.
    held_delta: Mapped[int] = mapped_column(default=0, server_default="0")
    transaction_type: Mapped[TokenTransactionType] = mapped_column(
        status_enum(TokenTransactionType, "token_transaction_type")
    )
    reference_type: Mapped[str | None] = mapped_column(String(40))
    reference_id: Mapped[uuid.UUID | None]
    description: Mapped[str] = mapped_column(String(255))
    balance_after: Mapped[int]
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
