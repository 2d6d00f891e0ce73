"""API keys of trusted backends, which spend and refund tokens on behalf of users."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from src.clock import utc_now
from src.models.base import Base, IdMixin


class ApiKey(IdMixin, Base):
    """Only a SHA-256 digest of the key is stored; the key itself is shown once, at creation.

    Keys are long random strings, so a fast digest is enough (no password-style stretching);
    ``prefix`` identifies a key in listings and logs without revealing it.
    """

    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
