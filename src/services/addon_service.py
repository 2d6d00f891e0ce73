"""Add-ons and add-on subscriptions."""

import uuid

from src.errors import Conflict, ValidationFailed
from src.models.addon import AddOn, AddOnSubscription
from src.models.subscription import Subscription, SubscriptionStatus
from src.repositories.base import DuplicateRow
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

    @staticmethod
    def _exists(add_on: AddOn) -> Conflict:
        return Conflict(
            f"You already have {add_on.name!r} pending or active.", code="add_on_exists"
        )
