"""Token usages, claimed race-safely by (user, reference)."""

import uuid

from sqlalchemy import select

from src.models.token_usage import TokenUsage
from src.repositories.base import SessionProxy, get_locked, insert_unless_duplicate


class TokenUsageRepository:
    def __init__(self, session: SessionProxy) -> None:
        self._session = session

    def get(self, usage_id: uuid.UUID, *, for_update: bool = False) -> TokenUsage | None:
        if for_update:
            return get_locked(self._session, TokenUsage, usage_id)
        return self._session.get(TokenUsage, usage_id)

    def find(self, user_id: uuid.UUID, reference: str) -> TokenUsage | None:
        query = select(TokenUsage).where(
            TokenUsage.user_id == user_id, TokenUsage.reference == reference
        )
        return self._session.scalar(query)

    def try_claim(self, usage: TokenUsage) -> bool:
        """Insert in a savepoint; ``False`` if the reference is taken. A concurrent retry of the
        same reference waits here for the first request's transaction, then loses."""
        return insert_unless_duplicate(self._session, usage)
