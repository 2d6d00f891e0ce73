"""Subscriptions of users, their status history, and what falls due over time."""

import uuid
from datetime import datetime

from sqlalchemy import case, select

from src.models.plan import BillingPeriod, Plan
from src.models.subscription import (
    OPEN_SUBSCRIPTION_STATUSES,
    Subscription,
    SubscriptionStatus,
    SubscriptionStatusChange,
)
from src.repositories.base import SessionProxy, get_locked, unique_violations_as_duplicates

# A user's subscriptions are few (one open at a time); the list is bounded all the same.
LIST_LIMIT = 100


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
            Subscription.user_id == user_id,
            Subscription.status.in_(OPEN_SUBSCRIPTION_STATUSES),
        )
        return self._session.scalar(query)

    def get_open_for_user_locked(self, user_id: uuid.UUID) -> Subscription | None:
        found = self.find_open_for_user(user_id)
        return None if found is None else self.get(found.id, for_update=True)

    def had_trial(self, user_id: uuid.UUID, plan_id: uuid.UUID) -> bool:
        query = select(Subscription.id).where(
            Subscription.user_id == user_id,
            Subscription.plan_id == plan_id,
            Subscription.trial_ends_at.is_not(None),
        )
        return self._session.scalar(query.limit(1)) is not None

    def list_for_user(self, user_id: uuid.UUID) -> list[Subscription]:
        is_open = case((Subscription.status.in_(OPEN_SUBSCRIPTION_STATUSES), 0), else_=1)
        query = (
            select(Subscription)
            .where(Subscription.user_id == user_id)
            .order_by(is_open, Subscription.created_at.desc(), Subscription.id)
            .limit(LIST_LIMIT)
        )
        return list(self._session.scalars(query).unique())

    def history(self, subscription_id: uuid.UUID) -> list[SubscriptionStatusChange]:
        query = (
            select(SubscriptionStatusChange)
            .where(SubscriptionStatusChange.subscription_id == subscription_id)
            .order_by(SubscriptionStatusChange.created_at, SubscriptionStatusChange.id)
        )
        return list(self._session.scalars(query))

    def add_history(self, change: SubscriptionStatusChange) -> None:
        self._session.add(change)

    def due_renewals(self, as_of: datetime, limit: int) -> list[uuid.UUID]:
        """Trialing or active subscriptions of recurring plans whose period ended by ``as_of``
        (ix_subscriptions_status_period_end), oldest boundary first."""
        query = (
            select(Subscription.id)
            .join(Plan, Plan.id == Subscription.plan_id)
            .where(
                Subscription.status.in_((SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE)),
                Subscription.current_period_end <= as_of,
                Plan.billing_period != BillingPeriod.ONE_TIME,
            )
            .order_by(Subscription.current_period_end, Subscription.id)
            .limit(limit)
        )
        return list(self._session.scalars(query))

    def due_retries(self, as_of: datetime, limit: int) -> list[uuid.UUID]:
        query = (
            select(Subscription.id)
            .where(
                Subscription.status == SubscriptionStatus.PAST_DUE,
                Subscription.next_retry_at <= as_of,
            )
            .order_by(Subscription.next_retry_at, Subscription.id)
            .limit(limit)
        )
        return list(self._session.scalars(query))

    def refresh_plan(self, subscription: Subscription) -> None:
        """After ``plan_id`` changed: the ``plan`` relation follows it."""
        plan = self._session.get(Plan, subscription.plan_id)
        if plan is not None:
            subscription.plan = plan

    def add(self, subscription: Subscription) -> Subscription:
        with unique_violations_as_duplicates():
            self._session.add(subscription)
            self._session.flush()
        return subscription
