"""Users by id and by e-mail."""

import uuid

from sqlalchemy import select, update

from src.models.user import User
from src.repositories.base import SessionProxy, get_locked, unique_violations_as_duplicates


class UserRepository:
    def __init__(self, session: SessionProxy) -> None:
        self._session = session

    def get(self, user_id: uuid.UUID, *, for_update: bool = False) -> User | None:
        if for_update:
            return get_locked(self._session, User, user_id)
        return self._session.get(User, user_id)

    def get_by_email(self, email: str) -> User | None:
        return self._session.scalar(select(User).where(User.email == email))

    def change_trial(self, user_id: uuid.UUID, delta: int) -> int | None:
        """Move the trial credits by ``delta`` unless they would go below zero: one conditional
        UPDATE, so concurrent uses never spend the same credit twice. None if refused."""
        statement = (
            update(User)
            .where(User.id == user_id, User.trial_remaining + delta >= 0)
            .values(trial_remaining=User.trial_remaining + delta)
            .returning(User.trial_remaining)
            .execution_options(synchronize_session=False)
        )
        remaining = self._session.execute(statement).scalar_one_or_none()
        return None if remaining is None else int(remaining)

    def add(self, user: User) -> User:
        """Insert now, so a duplicate e-mail surfaces here as ``DuplicateRow``."""
        with unique_violations_as_duplicates():
            self._session.add(user)
            self._session.flush()
        return user
