"""Users and idempotency keys."""

import uuid

from src.models.idempotency_key import IdempotencyKey
from src.models.user import User, UserRole
from src.repositories.base import DuplicateRow
from tests.unit.fakes.rows import apply_defaults


class FakeUserRepository:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, User] = {}
        self.locked: list[uuid.UUID] = []  # ids read with for_update, in order

    def get(self, user_id: uuid.UUID, *, for_update: bool = False) -> User | None:
        user = self.rows.get(user_id)
        if user is not None and for_update:
            self.locked.append(user_id)
        return user

    def get_by_email(self, email: str) -> User | None:
        return next((user for user in self.rows.values() if user.email == email), None)

    def change_trial(self, user_id: uuid.UUID, delta: int) -> int | None:
        """The conditional UPDATE: None when the user is missing or would go below zero."""
        user = self.rows.get(user_id)
        if user is None or user.trial_remaining + delta < 0:
            return None
        user.trial_remaining += delta
        return user.trial_remaining

    def add(self, user: User) -> User:
        """Like the unique e-mail constraint (checked here, not through get_by_email), and the
        unique provider customer ids."""
        if any(existing.email == user.email for existing in self.rows.values()):
            raise DuplicateRow("uq_users_email")
        if user.stripe_customer_id is not None and any(
            existing.stripe_customer_id == user.stripe_customer_id
            for existing in self.rows.values()
        ):
            raise DuplicateRow("uq_users_stripe_customer_id")
        apply_defaults(user, role=UserRole.USER, trial_remaining=0)
        self.rows[user.id] = user
        return user


class FakeIdempotencyKeyRepository:
    def __init__(self) -> None:
        self.rows: dict[tuple[uuid.UUID, str], IdempotencyKey] = {}

    def find(self, user_id: uuid.UUID, key: str) -> IdempotencyKey | None:
        return self.rows.get((user_id, key))

    def try_claim(self, record: IdempotencyKey) -> bool:
        if (record.user_id, record.key) in self.rows:
            return False
        apply_defaults(record)
        self.rows[(record.user_id, record.key)] = record
        return True
