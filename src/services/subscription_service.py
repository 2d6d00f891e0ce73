"""Subscriptions: one open (pending or active) per user."""

import uuid
from datetime import datetime

from src.errors import Conflict, InvalidState, NotFound
from src.models.plan import Plan
from src.models.subscription import Subscription, SubscriptionStatus
from src.repositories.base import DuplicateRow
from src.services.billing_periods import period_end
from src.services.ports import SubscriptionRepositoryPort


class SubscriptionService:
    def __init__(self, subscriptions: SubscriptionRepositoryPort) -> None:
        self._subscriptions = subscriptions

    def create_pending(self, user_id: uuid.UUID, plan: Plan) -> Subscription:
        """A PENDING subscription; 409 ``subscription_exists`` if one is pending or active.

        The service check gives the friendly answer; the partial unique index gives the same
        answer to the loser of two concurrent checkouts.
        """
        if self._subscriptions.find_open_for_user(user_id) is not None:
            raise self._exists()
        subscription = Subscription(
            user_id=user_id, plan_id=plan.id, plan=plan, status=SubscriptionStatus.PENDING
        )
        try:
            return self._subscriptions.add(subscription)
        except DuplicateRow as error:
            raise self._exists() from error

    def activate(self, subscription_id: uuid.UUID, now: datetime) -> Subscription:
        """PENDING → ACTIVE from ``now`` for one billing period; anything else is refused."""
        subscription = self._subscriptions.get(subscription_id, for_update=True)
        if subscription is None:
            raise NotFound("subscription")
        if subscription.status is not SubscriptionStatus.PENDING:
            raise InvalidState(
                f"Only a pending subscription can be activated (this one is "
                f"{subscription.status.value}).",
                code="subscription_not_pending",
            )
        subscription.status = SubscriptionStatus.ACTIVE
        subscription.starts_at = now
        subscription.expires_at = period_end(now, subscription.plan.billing_period)
        return subscription

    def cancel_pending(self, subscription_id: uuid.UUID, now: datetime) -> Subscription:
        """An unpaid subscription is dropped with its invoice (it frees the user's plan slot)."""
        subscription = self._subscriptions.get(subscription_id, for_update=True)
        if subscription is None:
            raise NotFound("subscription")
        if subscription.status is not SubscriptionStatus.PENDING:
            raise InvalidState(
                "Only a pending subscription can be dropped.", code="subscription_not_pending"
            )
        subscription.status = SubscriptionStatus.CANCELED
        subscription.canceled_at = now
        return subscription

    def end_for_refund(self, subscription_id: uuid.UUID, now: datetime) -> None:
        """A refunded subscription stops now (an already ended one is left as it is)."""
        subscription = self._subscriptions.get(subscription_id, for_update=True)
        if subscription is not None and subscription.status in (
            SubscriptionStatus.PENDING,
            SubscriptionStatus.ACTIVE,
        ):
            subscription.status = SubscriptionStatus.CANCELED
            subscription.canceled_at = now

    def find_active(self, user_id: uuid.UUID) -> Subscription | None:
        subscription = self._subscriptions.find_open_for_user(user_id)
        if subscription is None or subscription.status is not SubscriptionStatus.ACTIVE:
            return None
        return subscription

    @staticmethod
    def _exists() -> Conflict:
        return Conflict(
            "You already have a pending or active subscription.", code="subscription_exists"
        )
