"""Token bundle purchases."""

import uuid
from datetime import datetime

from sqlalchemy import select, update

from src.clock import utc_now
from src.models.token_bundle import PurchaseStatus, TokenBundlePurchase
from src.repositories.base import SessionProxy, get_locked


class TokenBundlePurchaseRepository:
    def __init__(self, session: SessionProxy) -> None:
        self._session = session

    def get(
        self, purchase_id: uuid.UUID, *, for_update: bool = False
    ) -> TokenBundlePurchase | None:
        if for_update:
            return get_locked(self._session, TokenBundlePurchase, purchase_id)
        return self._session.get(TokenBundlePurchase, purchase_id)

    def lock_many(self, purchase_ids: list[uuid.UUID]) -> list[TokenBundlePurchase]:
        """Load and lock these purchases in one statement (in id order, the order every
        locker takes, so two lockers of overlapping sets cannot deadlock)."""
        query = (
            select(TokenBundlePurchase)
            .where(TokenBundlePurchase.id.in_(purchase_ids))
            .order_by(TokenBundlePurchase.id)
            .with_for_update(of=TokenBundlePurchase)
            .execution_options(populate_existing=True)
        )
        return list(self._session.scalars(query).unique())

    def mark_completed(self, purchase_ids: list[uuid.UUID], now: datetime) -> None:
        """PENDING → COMPLETED for all of them in one UPDATE. The loaded objects take the new
        values without being flushed again ("evaluate"); setting their attributes instead
        made the flush send one UPDATE per purchase."""
        statement = (
            update(TokenBundlePurchase)
            .where(TokenBundlePurchase.id.in_(purchase_ids))
            .values(status=PurchaseStatus.COMPLETED, completed_at=now, updated_at=utc_now())
            .execution_options(synchronize_session="evaluate")
        )
        self._session.execute(statement)

    def add(self, purchase: TokenBundlePurchase) -> TokenBundlePurchase:
        self._session.add(purchase)
        self._session.flush()
        return purchase
