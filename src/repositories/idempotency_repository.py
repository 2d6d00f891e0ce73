"""Idempotency keys, claimed race-safely."""

import uuid

from sqlalchemy import select

from src.models.idempotency_key import IdempotencyKey
from src.repositories.base import SessionProxy, insert_unless_duplicate


class IdempotencyKeyRepository:
    def __init__(self, session: SessionProxy) -> None:
        self._session = session

    def find(self, user_id: uuid.UUID, key: str) -> IdempotencyKey | None:
        query = select(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id, IdempotencyKey.key == key
        )
        return self._session.scalar(query)

    def try_claim(self, record: IdempotencyKey) -> bool:
        """Insert the key inside a savepoint; ``False`` if another request holds it.

        On PostgreSQL a concurrent request's INSERT waits here until the first request's
        transaction ends, so the loser sees the winner's committed row (and its response).
        The savepoint keeps our own transaction usable after the unique violation.
        """
        return insert_unless_duplicate(self._session, record)
