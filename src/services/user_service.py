"""Accounts: registration, password checks, admin promotion."""

import uuid
from enum import StrEnum

from argon2.exceptions import InvalidHashError, VerificationError

from src.errors import Conflict, Forbidden, NotFound, Unauthorized
from src.models.user import User, UserRole
from src.repositories.base import DuplicateRow
from src.services.ports import PasswordHasherPort, UserRepositoryPort

INVALID_CREDENTIALS = "invalid_credentials"
# Providers that keep a customer per user, and the user column that remembers it.
PROVIDER_CUSTOMER_COLUMNS = {"stripe": "stripe_customer_id"}


class AdminOutcome(StrEnum):
    """What ``ensure_admin`` did: the CLI words its answer (and its exit code) from it."""

    CREATED = "created"
    PROMOTED = "promoted"
    ALREADY_ADMIN = "already_admin"


class PromotionRefused(ValueError):
    """An existing non-admin account named without ``promote``: nobody becomes an admin by
    registering first with the e-mail a deployment's boot script will pass."""


class UserService:
    def __init__(
        self, users: UserRepositoryPort, password_hasher: PasswordHasherPort, trial_credits: int = 0
    ) -> None:
        self._users = users
        self._hasher = password_hasher
        self._trial_credits = trial_credits

    def register(self, email: str, password: str) -> User:
        """Create a user; a taken e-mail (also under a concurrent race) is 409 ``email_taken``."""
        if self._users.get_by_email(email) is not None:
            raise self._email_taken()
        user = User(
            email=email,
            password_hash=self._hasher.hash(password),
            role=UserRole.USER,
            trial_remaining=self._trial_credits,
        )
        try:
            return self._users.add(user)
        except DuplicateRow as error:
            raise self._email_taken() from error

    def authenticate(self, email: str, password: str) -> User:
        """Check a password. Unknown e-mail and wrong password get the same 401.

        An unknown e-mail still costs one Argon2 hash, so response time does not reveal
        which e-mails have accounts.
        """
        user = self._users.get_by_email(email)
        if user is None:
            self._hasher.hash(password)
            raise self._invalid_credentials()
        try:
            self._hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError) as error:
            raise self._invalid_credentials() from error
        if self._hasher.check_needs_rehash(user.password_hash):
            user.password_hash = self._hasher.hash(password)
        return user

    def ensure_admin(
        self, email: str, password: str | None, *, promote: bool = False
    ) -> tuple[User, AdminOutcome]:
        """Create an admin (which needs a password); an existing admin is left as it is.

        An existing non-admin is promoted only with ``promote`` (``PromotionRefused``
        otherwise): boot scripts run this on every start, and must never hand the admin role
        to whoever self-registered that e-mail first. An existing password is left alone.
        """
        user = self._users.get_by_email(email)
        if user is not None:
            if user.role is UserRole.ADMIN:
                return user, AdminOutcome.ALREADY_ADMIN
            if not promote:
                raise PromotionRefused(
                    "An account with this e-mail exists and is not an admin; "
                    "pass --promote to make it one."
                )
            user.role = UserRole.ADMIN
            return user, AdminOutcome.PROMOTED
        if not password:
            raise ValueError("A password is needed to create a new admin.")
        admin = User(
            email=email,
            password_hash=self._hasher.hash(password),
            role=UserRole.ADMIN,
            trial_remaining=self._trial_credits,
        )
        return self._users.add(admin), AdminOutcome.CREATED

    def get(self, user_id: uuid.UUID) -> User:
        user = self._users.get(user_id)
        if user is None:
            raise NotFound("user")
        return user

    def get_locked(self, user_id: uuid.UUID) -> User:
        """The user row locked until commit (so a provider customer is created only once)."""
        user = self._users.get(user_id, for_update=True)
        if user is None:
            raise NotFound("user")
        return user

    @staticmethod
    def customer_id(user: User, provider: str) -> str | None:
        """The user's customer id at ``provider``, if that provider keeps customers."""
        column = PROVIDER_CUSTOMER_COLUMNS.get(provider)
        return getattr(user, column) if column else None

    def remember_customer(self, user_id: uuid.UUID, provider: str, customer_id: str) -> None:
        """Save a provider's customer id on the user the first time we learn it."""
        column = PROVIDER_CUSTOMER_COLUMNS.get(provider)
        user = self._users.get(user_id)
        if column and user is not None and not getattr(user, column):
            setattr(user, column, customer_id)

    def require_admin(self, user_id: uuid.UUID) -> User:
        """The role is read from the database on every admin call, so a demotion is immediate."""
        user = self._users.get(user_id)
        if user is None or not user.is_admin:
            raise Forbidden("This action needs the admin role.")
        return user

    @staticmethod
    def _email_taken() -> Conflict:
        return Conflict("An account with this e-mail already exists.", code="email_taken")

    @staticmethod
    def _invalid_credentials() -> Unauthorized:
        return Unauthorized("E-mail or password is wrong.", code=INVALID_CREDENTIALS)
