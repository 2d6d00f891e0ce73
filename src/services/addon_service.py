"""Add-ons and add-on subscriptions: they live under a parent subscription and never outlive
it (their expiry is capped at the parent's period end, and they end when it ends)."""

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

_RUNNING_PARENT = (SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE)
_OPEN = (SubscriptionStatus.PENDING, SubscriptionStatus.ACTIVE)


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
        self,
        user_id: uuid.UUID,
        add_on: AddOn,
        parent: Subscription | None,
        now: datetime,
        parent_in_checkout: bool = False,
    ) -> AddOnSubscription:
        """A PENDING add-on under ``parent``.

        An add-on needs a plan bought in the same checkout or a subscription that is running
        now (trialing or active, its period not over): another one is 409
        ``add_on_parent_inactive``. A user holds at most one open subscription per add-on;
        one whose time ran out does not count (it expires here, and can be bought again).
        """
        if parent is None:
            raise ValidationFailed(
                f"{add_on.name!r} needs a plan in this checkout or an active subscription.",
                code="add_on_requires_subscription",
            )
        if not parent_in_checkout and not _running(parent, now):
            raise InvalidState(
                f"{add_on.name!r} needs an active subscription; yours is "
                f"{_describe(parent, now)}.",
                code="add_on_parent_inactive",
            )
        open_one = self._addon_subscriptions.find_open(user_id, add_on.id)
        if open_one is not None:
            if not self._lapse_if_ended(open_one, now):
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
        return self._end_pending(addon_subscription_id, SubscriptionStatus.CANCELED, now)

    def expire_pending(self, addon_subscription_id: uuid.UUID, now: datetime) -> AddOnSubscription:
        """Its checkout was abandoned (the invoice expired)."""
        return self._end_pending(addon_subscription_id, SubscriptionStatus.EXPIRED, now)

    def _end_pending(
        self, addon_subscription_id: uuid.UUID, status: SubscriptionStatus, now: datetime
    ) -> AddOnSubscription:
        addon_subscription = self._addon_subscriptions.get(addon_subscription_id, for_update=True)
        if addon_subscription is None:
            raise NotFound("add_on_subscription")
        if addon_subscription.status is not SubscriptionStatus.PENDING:
            raise InvalidState("Only a pending add-on can be dropped.", code="add_on_not_pending")
        addon_subscription.status = status
        if status is SubscriptionStatus.CANCELED:
            addon_subscription.canceled_at = now
        return addon_subscription

    def end_for_refund(self, addon_subscription_id: uuid.UUID, now: datetime) -> None:
        addon_subscription = self._addon_subscriptions.get(addon_subscription_id, for_update=True)
        if addon_subscription is not None and addon_subscription.status in _OPEN:
            addon_subscription.status = SubscriptionStatus.CANCELED
            addon_subscription.canceled_at = now

    def end_with_parent(
        self, subscription_id: uuid.UUID, status: SubscriptionStatus, now: datetime
    ) -> int:
        """The parent ended (canceled or expired): its open add-ons end with it, the same way."""
        ended = 0
        for addon_subscription in self._addon_subscriptions.list_for_subscription(
            subscription_id, for_update=True
        ):
            if addon_subscription.status in _OPEN:
                addon_subscription.status = status
                if status is SubscriptionStatus.CANCELED:
                    addon_subscription.canceled_at = now
                ended += 1
        return ended

    def renewing_with(self, parent: Subscription, now: datetime) -> list[AddOnSubscription]:
        """The add-ons that renew with ``parent``: active, recurring on the parent's own
        billing period (an add-on on another period ends with the period instead)."""
        return [
            addon_subscription
            for addon_subscription in self._addon_subscriptions.list_for_subscription(parent.id)
            if addon_subscription.status is SubscriptionStatus.ACTIVE
            and addon_subscription.add_on.billing_period is parent.plan.billing_period
        ]

    def for_subscription(self, subscription_id: uuid.UUID) -> list[AddOnSubscription]:
        return self._addon_subscriptions.list_for_subscription(subscription_id)

    def extend(self, addon_subscription_id: uuid.UUID, until: datetime | None) -> None:
        """A paid renewal carries the add-on into the parent's new period."""
        addon_subscription = self._addon_subscriptions.get(addon_subscription_id, for_update=True)
        if addon_subscription is None:
            raise NotFound("add_on_subscription")
        if addon_subscription.status is not SubscriptionStatus.ACTIVE:
            raise InvalidState("The add-on is no longer active.", code="add_on_not_active")
        addon_subscription.expires_at = until

    def activate(self, addon_subscription_id: uuid.UUID, now: datetime) -> AddOnSubscription:
        """PENDING → ACTIVE. Expiry follows the add-on's own period, but a recurring add-on
        never outlives its parent subscription, which must be running by now."""
        addon_subscription = self._addon_subscriptions.get(addon_subscription_id, for_update=True)
        if addon_subscription is None:
            raise NotFound("add_on_subscription")
        if addon_subscription.status is not SubscriptionStatus.PENDING:
            raise InvalidState("Only a pending add-on can be activated.", code="add_on_not_pending")
        parent = addon_subscription.subscription
        if not _running(parent, now):
            raise InvalidState(
                "The add-on's subscription is not active.", code="add_on_parent_inactive"
            )
        expires_at = period_end(now, addon_subscription.add_on.billing_period)
        recurring = addon_subscription.add_on.billing_period is not BillingPeriod.ONE_TIME
        if recurring and expires_at is not None and parent.current_period_end is not None:
            expires_at = min(expires_at, parent.current_period_end)
        addon_subscription.status = SubscriptionStatus.ACTIVE
        addon_subscription.starts_at = now
        addon_subscription.expires_at = expires_at
        return addon_subscription

    @staticmethod
    def _lapse_if_ended(addon_subscription: AddOnSubscription, now: datetime) -> bool:
        ended = addon_subscription.status is SubscriptionStatus.ACTIVE and (
            (addon_subscription.expires_at is not None and addon_subscription.expires_at <= now)
            or not _running(addon_subscription.subscription, now)
        )
        if ended:
            addon_subscription.status = SubscriptionStatus.EXPIRED
        return ended

    @staticmethod
    def _exists(add_on: AddOn) -> Conflict:
        return Conflict(
            f"You already have {add_on.name!r} pending or active.", code="add_on_exists"
        )


def _running(parent: Subscription, now: datetime) -> bool:
    end = parent.current_period_end
    return parent.status in _RUNNING_PARENT and (end is None or end > now)


def _describe(parent: Subscription, now: datetime) -> str:
    if parent.status in _RUNNING_PARENT:
        return "past its period end"
    return parent.status.value.replace("_", " ")
