"""Add-on subscriptions."""

import uuid

from sqlalchemy import select

from src.models.addon import AddOnSubscription
from src.models.subscription import SubscriptionStatus
from src.repositories.base import SessionProxy, get_locked, unique_violations_as_duplicates


class AddOnSubscriptionRepository:
    def __init__(self, session: SessionProxy) -> None:
        self._session = session

    def get(
        self, addon_subscription_id: uuid.UUID, *, for_update: bool = False
    ) -> AddOnSubscription | None:
        if for_update:
            return get_locked(self._session, AddOnSubscription, addon_subscription_id)
        return self._session.get(AddOnSubscription, addon_subscription_id)

    def find_open(self, user_id: uuid.UUID, add_on_id: uuid.UUID) -> AddOnSubscription | None:
        query = select(AddOnSubscription).where(
            AddOnSubscription.user_id == user_id,
            AddOnSubscription.addon_id == add_on_id,
            AddOnSubscription.status.in_((SubscriptionStatus.PENDING, SubscriptionStatus.ACTIVE)),
        )
        return self._session.scalar(query)

    def list_for_subscription(
        self, subscription_id: uuid.UUID, *, for_update: bool = False
    ) -> list[AddOnSubscription]:
        """The add-ons bought under one subscription, oldest first (locked when asked)."""
        query = (
            select(AddOnSubscription)
            .where(AddOnSubscription.subscription_id == subscription_id)
            .order_by(AddOnSubscription.created_at, AddOnSubscription.id)
        )
        if for_update:
            query = query.with_for_update(of=AddOnSubscription)
        return list(self._session.scalars(query).unique())

    def add(self, addon_subscription: AddOnSubscription) -> AddOnSubscription:
        with unique_violations_as_duplicates():
            self._session.add(addon_subscription)
            self._session.flush()
        return addon_subscription
