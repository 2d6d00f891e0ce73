"""Token bundles and their purchases."""

import uuid
from datetime import datetime

from src.errors import InvalidState, NotFound
from src.models.token_bundle import (
    PURCHASE_LEDGER_REFERENCE,
    PurchaseStatus,
    TokenBundle,
    TokenBundlePurchase,
)
from src.services.catalog_rules import require_purchasable
from src.services.ports import CatalogRepositoryPort, PurchaseRepositoryPort

__all__ = ["PURCHASE_LEDGER_REFERENCE", "TokenBundleService"]


class TokenBundleService:
    def __init__(
        self, bundles: CatalogRepositoryPort[TokenBundle], purchases: PurchaseRepositoryPort
    ) -> None:
        self._bundles = bundles
        self._purchases = purchases

    def list_active(self) -> list[TokenBundle]:
        return self._bundles.list_active()

    def get_active(self, bundle_id: uuid.UUID) -> TokenBundle:
        return require_purchasable(self._bundles.get(bundle_id), "token_bundle")

    def create_purchase(
        self, user_id: uuid.UUID, bundle: TokenBundle, quantity: int
    ) -> TokenBundlePurchase:
        """A PENDING purchase of ``quantity`` bundles; the token amount is fixed from now on."""
        purchase = TokenBundlePurchase(
            user_id=user_id,
            bundle_id=bundle.id,
            bundle=bundle,
            quantity=quantity,
            token_amount=bundle.token_amount,
            status=PurchaseStatus.PENDING,
        )
        return self._purchases.add(purchase)

    def get_purchase(self, purchase_id: uuid.UUID) -> TokenBundlePurchase:
        purchase = self._purchases.get(purchase_id, for_update=True)
        if purchase is None:
            raise NotFound("token_bundle_purchase")
        return purchase

    def mark_refunded(self, purchase_id: uuid.UUID) -> None:
        self.get_purchase(purchase_id).status = PurchaseStatus.REFUNDED

    def cancel_purchase(self, purchase_id: uuid.UUID) -> TokenBundlePurchase:
        purchase = self._purchases.get(purchase_id, for_update=True)
        if purchase is None:
            raise NotFound("token_bundle_purchase")
        if purchase.status is not PurchaseStatus.PENDING:
            raise InvalidState(
                "Only a pending purchase can be cancelled.", code="purchase_not_pending"
            )
        purchase.status = PurchaseStatus.CANCELLED
        return purchase

    def complete_purchases(
        self, purchase_ids: list[uuid.UUID], now: datetime
    ) -> list[TokenBundlePurchase]:
        """Each PENDING → COMPLETED, locked in one statement; returned in the given order.
        The caller credits their ``total_tokens`` in the same transaction. The first that is
        missing or not pending refuses them all (the caller's savepoint undoes the rest)."""
        by_id = {purchase.id: purchase for purchase in self._purchases.lock_many(purchase_ids)}
        for purchase_id in purchase_ids:
            purchase = by_id.get(purchase_id)
            if purchase is None:
                raise NotFound("token_bundle_purchase")
            if purchase.status is not PurchaseStatus.PENDING:
                raise InvalidState(
                    "Only a pending purchase can be completed"
                    f" (this one is {purchase.status.value}).",
                    code="purchase_not_pending",
                )
        self._purchases.mark_completed(purchase_ids, now)
        return [by_id[purchase_id] for purchase_id in purchase_ids]
