"""The catalog (plans, bundles, add-ons) and what a checkout reserves of it: subscriptions,
bundle purchases and add-on subscriptions."""

import uuid
from typing import Generic, TypeVar

from src.models.addon import AddOn, AddOnSubscription
from src.models.plan import Plan
from datetime import datetime

from src.models.subscription import (
    OPEN_SUBSCRIPTION_STATUSES,
    Subscription,
    SubscriptionStatus,
    SubscriptionStatusChange,
)
from src.models.token_bundle import PurchaseStatus, TokenBundle, TokenBundlePurchase
from src.repositories.base import DuplicateRow
from tests.unit.fakes.rows import apply_defaults

CatalogItemT = TypeVar("CatalogItemT", Plan, TokenBundle, AddOn)
OPEN_STATUSES = OPEN_SUBSCRIPTION_STATUSES


class FakeCatalogRepository(Generic[CatalogItemT]):
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, CatalogItemT] = {}

    def get(self, item_id: uuid.UUID) -> CatalogItemT | None:
        return self.rows.get(item_id)

    def get_by_code(self, code: str) -> CatalogItemT | None:
        return next((item for item in self.rows.values() if item.code == code), None)

    def list_active(self) -> list[CatalogItemT]:
        active = [item for item in self.rows.values() if item.is_active]
        return sorted(active, key=lambda item: (item.price, item.name))

    def add(self, item: CatalogItemT) -> CatalogItemT:
        if self.get_by_code(item.code) is not None:
            raise DuplicateRow("code")
        apply_defaults(item, is_active=True, description="")
        self.rows[item.id] = item
        return item


class FakeSubscriptionRepository:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Subscription] = {}
        self.changes: list[SubscriptionStatusChange] = []
        self.plans: dict[uuid.UUID, Plan] = {}

    def get_open_for_user_locked(self, user_id: uuid.UUID) -> Subscription | None:
        return self.find_open_for_user(user_id)

    def had_trial(self, user_id: uuid.UUID, plan_id: uuid.UUID) -> bool:
        return any(
            row.user_id == user_id and row.plan_id == plan_id and row.trial_ends_at is not None
            for row in self.rows.values()
        )

    def list_for_user(self, user_id: uuid.UUID) -> list[Subscription]:
        return [row for row in self.rows.values() if row.user_id == user_id]

    def history(self, subscription_id: uuid.UUID) -> list[SubscriptionStatusChange]:
        return [change for change in self.changes if change.subscription_id == subscription_id]

    def add_history(self, change: SubscriptionStatusChange) -> None:
        self.changes.append(change)

    def due_renewals(self, as_of: datetime, limit: int) -> list[uuid.UUID]:
        raise NotImplementedError("renewals are tested on PostgreSQL")

    def due_retries(self, as_of: datetime, limit: int) -> list[uuid.UUID]:
        raise NotImplementedError("dunning is tested on PostgreSQL")

    def refresh_plan(self, subscription: Subscription) -> None:
        if subscription.plan_id in self.plans:
            subscription.plan = self.plans[subscription.plan_id]

    def get(self, subscription_id: uuid.UUID, *, for_update: bool = False) -> Subscription | None:
        return self.rows.get(subscription_id)

    def find_open_for_user(self, user_id: uuid.UUID) -> Subscription | None:
        return self._open_for(user_id)

    def add(self, subscription: Subscription) -> Subscription:
        """Like the partial unique index: one pending or active subscription per user."""
        apply_defaults(
            subscription,
            status=SubscriptionStatus.PENDING,
            cancel_at_period_end=False,
            dunning_attempts=0,
        )
        if subscription.status in OPEN_STATUSES and self._open_for(subscription.user_id):
            raise DuplicateRow("uq_subscriptions_user_open")
        self.rows[subscription.id] = subscription
        return subscription

    def _open_for(self, user_id: uuid.UUID) -> Subscription | None:
        # Private, so a test subclass that hides rows from lookups still meets the "index".
        open_rows = (row for row in self.rows.values() if row.status in OPEN_STATUSES)
        return next((row for row in open_rows if row.user_id == user_id), None)


class FakePurchaseRepository:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, TokenBundlePurchase] = {}

    def get(
        self, purchase_id: uuid.UUID, *, for_update: bool = False
    ) -> TokenBundlePurchase | None:
        return self.rows.get(purchase_id)

    def lock_many(self, purchase_ids: list[uuid.UUID]) -> list[TokenBundlePurchase]:
        """The existing ones, in id order (as the SQL locks them)."""
        return [self.rows[key] for key in sorted(purchase_ids) if key in self.rows]

    def mark_completed(self, purchase_ids: list[uuid.UUID], now: datetime) -> None:
        for purchase_id in purchase_ids:
            self.rows[purchase_id].status = PurchaseStatus.COMPLETED
            self.rows[purchase_id].completed_at = now

    def add(self, purchase: TokenBundlePurchase) -> TokenBundlePurchase:
        apply_defaults(purchase, status=PurchaseStatus.PENDING)
        self.rows[purchase.id] = purchase
        return purchase


class FakeAddOnSubscriptionRepository:
    def __init__(self, parents: FakeSubscriptionRepository | None = None) -> None:
        self.rows: dict[uuid.UUID, AddOnSubscription] = {}
        self.parents = parents

    def get(
        self, addon_subscription_id: uuid.UUID, *, for_update: bool = False
    ) -> AddOnSubscription | None:
        """Loads ``subscription`` from ``parents`` when unset, as the ORM's lazy load would."""
        row = self.rows.get(addon_subscription_id)
        if row is not None and row.subscription is None and self.parents is not None:
            row.subscription = self.parents.rows[row.subscription_id]
        return row

    def find_open(self, user_id: uuid.UUID, add_on_id: uuid.UUID) -> AddOnSubscription | None:
        return self._open_for(user_id, add_on_id)

    def list_for_subscription(
        self, subscription_id: uuid.UUID, *, for_update: bool = False
    ) -> list[AddOnSubscription]:
        return [row for row in self.rows.values() if row.subscription_id == subscription_id]

    def add(self, addon_subscription: AddOnSubscription) -> AddOnSubscription:
        """Like the partial unique index: one open subscription per (user, add-on)."""
        apply_defaults(addon_subscription, status=SubscriptionStatus.PENDING)
        row = addon_subscription
        if row.status in OPEN_STATUSES and self._open_for(row.user_id, row.addon_id):
            raise DuplicateRow("uq_addon_subscriptions_user_addon_open")
        self.rows[row.id] = row
        return row

    def _open_for(self, user_id: uuid.UUID, add_on_id: uuid.UUID) -> AddOnSubscription | None:
        open_rows = (row for row in self.rows.values() if row.status in OPEN_STATUSES)
        return next(
            (row for row in open_rows if (row.user_id, row.addon_id) == (user_id, add_on_id)),
            None,
        )
