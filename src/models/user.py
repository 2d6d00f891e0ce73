"""Users: credentials, role and (later) provider customer ids."""

from enum import StrEnum

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from src.models.base import Base, IdMixin, TimestampMixin, status_enum


class UserRole(StrEnum):
    USER = "user"
    ADMIN = "admin"


class User(IdMixin, TimestampMixin, Base):
    """A customer or an admin. Emails are stored lower-cased, so uniqueness is case-blind."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        CheckConstraint("trial_remaining >= 0", name="trial_remaining_non_negative"),
    )

    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[UserRole] = mapped_column(
        status_enum(UserRole, "user_role"), default=UserRole.USER
    )
    # Created once, on the first Stripe payment, and reused for every later one.
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    # Free uses left (TRIAL_CREDITS at registration), spent before any token.
    trial_remaining: Mapped[int] = mapped_column(default=0)

    @property
    def is_admin(self) -> bool:
        return self.role is UserRole.ADMIN
