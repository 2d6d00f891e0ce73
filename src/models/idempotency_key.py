"""Idempotency keys: a client's retry of a request replays the first answer."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from src.clock import utc_now
from src.models.base import Base, IdMixin


class IdempotencyKey(IdMixin, Base):
    """A key claimed by a user; its row and the work it guards commit in one transaction.

    The unique ``(user_id, key)`` makes a concurrent duplicate wait for the first request and
    then replay its stored response instead of doing the work again.
    """

    __tablename__ = "idempotency_keys"
    # created_at is indexed for retention, which deletes keys past Stripe's 24-hour window.
    __table_args__ = (
        UniqueConstraint("user_id", "key"),
        Index("ix_idempotency_keys_created_at", "created_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(255))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int | None]
    response_body: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
