"""Catalog rows for tests, written straight through the ORM (set-up, not the code under test)."""

from decimal import Decimal
from typing import Any
from uuid import uuid4

from src.app import BillingApp
from src.extensions import db
from src.models.addon import AddOn
from src.models.plan import BillingPeriod, Plan
from src.models.token_bundle import TokenBundle


class CatalogBuilder:
    def __init__(self, app: BillingApp) -> None:
        self._app = app

    def _save(self, item: Plan | TokenBundle | AddOn) -> Any:
        with self._app.app_context():
            db.session.add(item)
            db.session.commit()
            return item.id

    def plan(
        self,
        price: str = "49.00",
        currency: str = "USD",
        period: BillingPeriod = BillingPeriod.MONTHLY,
        active: bool = True,
        name: str = "Test plan",
        metered: bool = False,
        trial_days: int = 0,
    ) -> Any:
        return self._save(
            Plan(
                code=f"plan-{uuid4().hex[:8]}",
                name=name,
                price=Decimal(price),
                currency=currency,
                billing_period=period,
                is_active=active,
                usage_metered=metered,
                trial_days=trial_days,
            )
        )

    def bundle(
        self, tokens: int = 50, price: str = "49.00", currency: str = "USD", active: bool = True
    ) -> Any:
        return self._save(
            TokenBundle(
                code=f"bundle-{uuid4().hex[:8]}",
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
        period: BillingPeriod = BillingPeriod.MONTHLY,
        active: bool = True,
    ) -> Any:
        return self._save(
            AddOn(
                code=f"addon-{uuid4().hex[:8]}",
                name="Test add-on",
                price=Decimal(price),
                currency=currency,
                billing_period=period,
                is_active=active,
            )
        )
