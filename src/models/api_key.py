"""API keys of trusted backends, which spend and refund tokens on behalf of users."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from src.clock import utc_now
from src.models.base import Base, IdMixin


class ApiKeyScope(StrEnum):
    """``usage:write``: consume, holds, settles and releases; ``usage:read``: balance, ledger."""

    USAGE_READ = "usage:read"
    USAGE_WRITE = "usage:write"


ALL_SCOPES = tuple(scope.value for scope in ApiKeyScope)


class ApiKey(IdMixin, Base):
    """Only a SHA-256 digest of the key is stored; the key itself is shown once, at creation.

    Keys are long random strings, so a fast digest is enough (no password-style stretching);
    ``prefix`` identifies a key in listings and logs without revealing it.
    """

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint(
            "scopes <@ ARRAY['usage:read', 'usage:write']::varchar(32)[]", name="scopes_known"
        ),
    )

    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list)
