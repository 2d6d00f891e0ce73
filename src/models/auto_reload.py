"""Auto-reload: top the balance up from the saved card when it falls under a threshold."""

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from src.clock import utc_now
from src.models.base import Base

MAX_CONSECUTIVE_FAILURES = 3


class AutoReloadSetting(Base):
    """One row per user. ``in_flight_invoice_id`` is the reload being paid, if any: while that
    invoice is pending no second reload starts."""

    __tablename__ = "auto_reload_settings"
    __table_args__ = (
        CheckConstraint("threshold >= 1 AND threshold <= 100", name="threshold_range"),
        CheckConstraint("failure_count >= 0", name="failure_count_non_negative"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=False)
    threshold: Mapped[int]
    bundle_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("token_bundles.id"))
    failure_count: Mapped[int] = mapped_column(default=0)
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    in_flight_invoice_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("invoices.id"))
    last_attempt_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
