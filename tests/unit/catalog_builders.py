"""Rows already in the fakes: catalog items, and subscriptions an earlier payment activated."""

import uuid
from datetime import datetime
from decimal import Decimal

from src.models.addon import AddOn, AddOnSubscription
from src.models.plan import BillingPeriod, Plan
from src.models.subscription import Subscription, SubscriptionStatus
from src.models.token_bundle import TokenBundle
from tests.unit.fakes import (
    FakeAddOnSubscriptionRepository,
    FakeCatalogRepository,
    FakeSubscriptionRepository,
)


class CatalogRows:
    """Mixed into ``Billing``, which provides the repositories."""

    plans: FakeCatalogRepository[Plan]
    bundles: FakeCatalogRepository[TokenBundle]
    add_ons: FakeCatalogRepository[AddOn]
    subscriptions: FakeSubscriptionRepository
    addon_subscriptions: FakeAddOnSubscriptionRepository

    def plan(
        self,
        price: str = "49.00",
        currency: str = "USD",
        active: bool = True,
        name: str = "Pro",
        period: BillingPeriod = BillingPeriod.MONTHLY,
        metered: bool = False,
    ) -> Plan:
        return self.plans.add(
            Plan(
                code=f"plan-{uuid.uuid4().hex[:8]}",
                name=name,
                price=Decimal(price),
                currency=currency,
                billing_period=period,
                is_active=active,
                usage_metered=metered,
            )
        )

    def bundle(
        self, tokens: int = 50, price: str = "49.00", currency: str = "USD", active: bool = True
    ) -> TokenBundle:
        return self.bundles.add(
            TokenBundle(
                code=f"bundle-{uuid.uuid4().hex[:8]}",
                name=f"{tokens} Tokens",
                token_amount=tokens,
                price=Decimal(price),
                currency=currency,
                is_active=active,
            )
        )

    def add_on(
        self,
        price: str = "9.00",
        currency: str = "USD",
        active: bool = True,
        name: str = "Support",
        period: BillingPeriod = BillingPeriod.YEARLY,
    ) -> AddOn:
        return self.add_ons.add(
            AddOn(
                code=f"addon-{uuid.uuid4().hex[:8]}",
                name=name,
                price=Decimal(price),
                currency=currency,
                billing_period=period,
                is_active=active,
            )
        )

    def subscription(
        self,
        user_id: uuid.UUID,
        status: SubscriptionStatus,
        plan: Plan | None = None,
        expires_at: datetime | None = None,
    ) -> Subscription:
        """A subscription already in the store (e.g. activated by an earlier payment)."""
        plan = plan or self.plan()
        return self.subscriptions.add(
            Subscription(
                user_id=user_id, plan_id=plan.id, plan=plan, status=status, expires_at=expires_at
            )
        )

    def addon_subscription(
        self,
        parent: Subscription,
        add_on: AddOn | None = None,
        status: SubscriptionStatus = SubscriptionStatus.PENDING,
    ) -> AddOnSubscription:
        add_on = add_on or self.add_on()
        return self.addon_subscriptions.add(
            AddOnSubscription(
                user_id=parent.user_id,
                addon_id=add_on.id,
                add_on=add_on,
                subscription_id=parent.id,
                subscription=parent,
                status=status,
            )
        )
