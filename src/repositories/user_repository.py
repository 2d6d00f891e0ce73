"""Users by id and by e-mail."""

import uuid

from sqlalchemy import select

from src.models.user import User
from src.repositories.base import SessionProxy, unique_violations_as_duplicates


class UserRepository:
    def __init__(self, session: SessionProxy) -> None:
        self._session = session

    def get(self, user_id: uuid.UUID) -> User | None:
        return self._session.get(User, user_id)

    def get_by_email(self, email: str) -> User | None:
        return self._session.scalar(select(User).where(User.email == email))

    def add(self, user: User) -> User:
        """Insert now, so a duplicate e-mail surfaces here as ``DuplicateRow``."""
        with unique_violations_as_duplicates():
            self._session.add(user)
            self._session.flush()
        return user
