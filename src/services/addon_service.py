"""Add-ons and add-on subscriptions."""

import uuid
from datetime import datetime

from src.errors import Conflict, InvalidState, NotFound, ValidationFailed
from src.models.addon import AddOn, AddOnSubscription
from src.models.plan import BillingPeriod
from src.models.subscription import Subscription, SubscriptionStatus
from src.repositories.base import DuplicateRow
from src.services.billing_periods import period_end
from src.services.catalog_rules import require_purchasable
from src.services.ports import AddOnSubscriptionRepositoryPort, CatalogRepositoryPort


class AddOnService:
    def __init__(
        self,
        add_ons: CatalogRepositoryPort[AddOn],
        addon_subscriptions: AddOnSubscriptionRepositoryPort,
    ) -> None:
        self._add_ons = add_ons
        self._addon_subscriptions = addon_subscriptions

    def list_active(self) -> list[AddOn]:
        return self._add_ons.list_active()

    def get_active(self, add_on_id: uuid.UUID) -> AddOn:
        return require_purchasable(self._add_ons.get(add_on_id), "add_on")

    def create_subscription(
        self, user_id: uuid.UUID, add_on: AddOn, parent: Subscription | None
    ) -> AddOnSubscription:
        """A PENDING add-on under ``parent``.

        An add-on needs a plan bought in the same checkout or an already active subscription;
        a user holds at most one open subscription per add-on.
        """
        if parent is None:
            raise ValidationFailed(
                f"{add_on.name!r} needs a plan in this checkout or an active subscription.",
                code="add_on_requires_subscription",
            )
        if self._addon_subscriptions.find_open(user_id, add_on.id) is not None:
            raise self._exists(add_on)
        addon_subscription = AddOnSubscription(
            user_id=user_id,
            addon_id=add_on.id,
            add_on=add_on,
            subscription_id=parent.id,
            status=SubscriptionStatus.PENDING,
        )
        try:
            return self._addon_subscriptions.add(addon_subscription)
        except DuplicateRow as error:
            raise self._exists(add_on) from error

    def cancel_pending(self, addon_subscription_id: uuid.UUID, now: datetime) -> AddOnSubscription:
        addon_subscription = self._addon_subscriptions.get(addon_subscription_id, for_update=True)
        if addon_subscription is None:
            raise NotFound("add_on_subscription")
        if addon_subscription.status is not SubscriptionStatus.PENDING:
            raise InvalidState("Only a pending add-on can be dropped.", code="add_on_not_pending")
        addon_subscription.status = SubscriptionStatus.CANCELED
        addon_subscription.canceled_at = now
        return addon_subscription

    def end_for_refund(self, addon_subscription_id: uuid.UUID, now: datetime) -> None:
        addon_subscription = self._addon_subscriptions.get(addon_subscription_id, for_update=True)
        if addon_subscription is not None and addon_subscription.status in (
            SubscriptionStatus.PENDING,
            SubscriptionStatus.ACTIVE,
        ):
            addon_subscription.status = SubscriptionStatus.CANCELED
            addon_subscription.canceled_at = now

    def activate(self, addon_subscription_id: uuid.UUID, now: datetime) -> AddOnSubscription:
        """PENDING → ACTIVE. Expiry follows the add-on's own period, but a recurring add-on
        never outlives its parent subscription, which must be active by now."""
        addon_subscription = self._addon_subscriptions.get(addon_subscription_id, for_update=True)
        if addon_subscription is None:
            raise NotFound("add_on_subscription")
        if addon_subscription.status is not SubscriptionStatus.PENDING:
            raise InvalidState("Only a pending add-on can be activated.", code="add_on_not_pending")
        parent = addon_subscription.subscription
        if parent.status is not SubscriptionStatus.ACTIVE:
            raise InvalidState(
                "The add-on's subscription is not active.", code="add_on_parent_inactive"
            )
        expires_at = period_end(now, addon_subscription.add_on.billing_period)
        recurring = addon_subscription.add_on.billing_period is not BillingPeriod.ONE_TIME
        if recurring and expires_at is not None and parent.expires_at is not None:
            expires_at = min(expires_at, parent.expires_at)
        addon_subscription.status = SubscriptionStatus.ACTIVE
        addon_subscription.starts_at = now
        addon_subscription.expires_at = expires_at
        return addon_subscription

    @staticmethod
    def _exists(add_on: AddOn) -> Conflict:
        return Conflict(
            f"You already have {add_on.name!r} pending or active.", code="add_on_exists"
        )
