"""Subscriptions of users."""

import uuid

from sqlalchemy import select

from src.models.subscription import OPEN_SUBSCRIPTION_STATUSES, Subscription
from src.repositories.base import SessionProxy, get_locked, unique_violations_as_duplicates


class SubscriptionRepository:
    def __init__(self, session: SessionProxy) -> None:
        self._session = session

    def get(self, subscription_id: uuid.UUID, *, for_update: bool = False) -> Subscription | None:
        if for_update:
            return get_locked(self._session, Subscription, subscription_id)
        return self._session.get(Subscription, subscription_id)

    def find_open_for_user(self, user_id: uuid.UUID) -> Subscription | None:
        """The user's open subscription (pending, trialing, active or past due; the partial
        unique index allows one)."""
        query = select(Subscription).where(
            Subscription.user_id == user_id, Subscription.status.in_(OPEN_SUBSCRIPTION_STATUSES)
        )
        return self._session.scalar(query)

    def add(self, subscription: Subscription) -> Subscription:
        with unique_violations_as_duplicates():
            self._session.add(subscription)
            self._session.flush()
        return subscription
