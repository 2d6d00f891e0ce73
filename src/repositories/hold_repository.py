"""Token holds, claimed race-safely by (user, reference) and locked to change their status."""

import uuid
from datetime import datetime

from sqlalchemy import select

from src.models.token_hold import HoldStatus, TokenHold
from src.repositories.base import SessionProxy, get_locked, insert_unless_duplicate


class TokenHoldRepository:
    def __init__(self, session: SessionProxy) -> None:
        self._session = session

    def get(self, hold_id: uuid.UUID, *, for_update: bool = False) -> TokenHold | None:
        if for_update:
            return get_locked(self._session, TokenHold, hold_id)
        return self._session.get(TokenHold, hold_id)

    def find(self, user_id: uuid.UUID, reference: str) -> TokenHold | None:
        query = select(TokenHold).where(
            TokenHold.user_id == user_id, TokenHold.reference == reference
        )
        return self._session.scalar(query)

    def try_claim(self, hold: TokenHold) -> bool:
        """Insert in a savepoint; ``False`` if the reference is taken (a concurrent retry waits
        for the first request's transaction, then loses)."""
        return insert_unless_duplicate(self._session, hold)

    def lock_expired_open(self, as_of: datetime, limit: int) -> list[TokenHold]:
        """Open holds expired at ``as_of``, locked; rows a settle or release holds are skipped
        (that one wins, or they are still open at the next run)."""
        query = (
            select(TokenHold)
            .where(TokenHold.status == HoldStatus.OPEN, TokenHold.expires_at <= as_of)
            .order_by(TokenHold.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        return list(self._session.scalars(query))
