"""Token bundle purchases."""

import uuid

from src.models.token_bundle import TokenBundlePurchase
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

    def add(self, purchase: TokenBundlePurchase) -> TokenBundlePurchase:
        self._session.add(purchase)
        self._session.flush()
        return purchase
