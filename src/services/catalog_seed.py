"""The demo catalog, and the idempotent seeding of it (existing codes are left untouched)."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from src.models.addon import AddOn
from src.models.plan import BillingPeriod, Plan
from src.models.token_bundle import TokenBundle
from src.services.ports import CatalogRepositoryPort

MONTHLY, YEARLY = BillingPeriod.MONTHLY, BillingPeriod.YEARLY

DEMO_PLANS: tuple[dict[str, Any], ...] = (
    {
        "code": "starter-monthly",
        "name": "Starter",
        "price": Decimal("19.00"),
        "billing_period": MONTHLY,
        "description": "For individuals getting started.",
    },
    {
        "code": "pro-monthly",
        "name": "Pro",
        "price": Decimal("49.00"),
        "billing_period": MONTHLY,
        "description": "For teams shipping every day.",
    },
    {
        "code": "pro-yearly",
        "name": "Pro (yearly)",
        "price": Decimal("490.00"),
        "billing_period": YEARLY,
        "description": "Pro, two months free.",
    },
)
# The four token packages of the token-purchase design.
DEMO_BUNDLES: tuple[dict[str, Any], ...] = (
    {
        "code": "tokens-50",
        "name": "50 Tokens",
        "token_amount": 50,
        "price": Decimal("49.00"),
        "description": "$0.98 per token.",
    },
    {
        "code": "tokens-100",
        "name": "100 Tokens",
        "token_amount": 100,
        "price": Decimal("89.00"),
        "description": "$0.89 per token. Most popular.",
    },
    {
        "code": "tokens-250",
        "name": "250 Tokens",
        "token_amount": 250,
        "price": Decimal("199.00"),
        "description": "$0.80 per token.",
    },
    {
        "code": "tokens-500",
        "name": "500 Tokens",
        "token_amount": 500,
        "price": Decimal("349.00"),
        "description": "$0.70 per token. Best value.",
    },
)
DEMO_ADD_ONS: tuple[dict[str, Any], ...] = (
    {
        "code": "priority-support",
        "name": "Priority support",
        "price": Decimal("9.00"),
        "billing_period": MONTHLY,
        "description": "Answers within four business hours.",
    },
    {
        "code": "analytics-pack",
        "name": "Analytics pack",
        "price": Decimal("99.00"),
        "billing_period": YEARLY,
        "description": "Usage dashboards and exports.",
    },
)
DEMO_CURRENCY = "USD"

ItemT = TypeVar("ItemT", Plan, TokenBundle, AddOn)


@dataclass(frozen=True)
class SeedReport:
    created: int
    unchanged: int


def _seed(
    repository: CatalogRepositoryPort[ItemT],
    build: Callable[..., ItemT],
    specs: Sequence[dict[str, Any]],
) -> SeedReport:
    created = 0
    for item_spec in specs:
        if repository.get_by_code(item_spec["code"]) is None:
            repository.add(build(currency=DEMO_CURRENCY, is_active=True, **item_spec))
            created += 1
    return SeedReport(created=created, unchanged=len(specs) - created)


class CatalogSeeder:
    def __init__(
        self,
        plans: CatalogRepositoryPort[Plan],
        bundles: CatalogRepositoryPort[TokenBundle],
        add_ons: CatalogRepositoryPort[AddOn],
    ) -> None:
        self._plans = plans
        self._bundles = bundles
        self._add_ons = add_ons

    def seed(self) -> SeedReport:
        """Insert each demo item whose code is missing; running it twice changes nothing."""
        reports = (
            _seed(self._plans, Plan, DEMO_PLANS),
            _seed(self._bundles, TokenBundle, DEMO_BUNDLES),
            _seed(self._add_ons, AddOn, DEMO_ADD_ONS),
        )
        return SeedReport(
            created=sum(report.created for report in reports),
            unchanged=sum(report.unchanged for report in reports),
        )
