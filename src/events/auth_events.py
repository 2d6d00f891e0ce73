"""Account commands and the fact that an account was opened."""

import uuid
from dataclasses import dataclass, field
from src.events.base import Command, Notification
from src.models.user import User, UserRole


@dataclass(frozen=True)
class AuthenticatedUser:
    """What the account commands answer: who the caller is, never the password hash."""

    id: uuid.UUID
    email: str
    role: UserRole

    @classmethod
    def of(cls, user: User) -> "AuthenticatedUser":
        return cls(id=user.id, email=user.email, role=user.role)


@dataclass(frozen=True, kw_only=True)
class UserRegistrationRequestedEvent(Command[AuthenticatedUser]):
    name = "user.registration_requested"
    email: str
    password: str = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class LoginRequestedEvent(Command[AuthenticatedUser]):
    """A command, not a query: a successful login may upgrade the stored password hash."""

    name = "user.login_requested"
    email: str
    password: str = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class UserRegisteredEvent(Notification):
    name = "user.registered"
    user_id: uuid.UUID
    email: str
