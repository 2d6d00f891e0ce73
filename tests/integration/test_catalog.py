"""GET /plans, /token-bundles, /addons: public, active items only, money as strings."""

from typing import Any

from flask.testing import FlaskClient

from src.models.plan import BillingPeriod
from tests.support.catalog import CatalogBuilder


def test_demo_plans_are_listed_with_decimal_string_prices(
    client: FlaskClient, demo_catalog: dict[str, Any]
) -> None:
    response = client.get("/api/v1/plans")
    assert response.status_code == 200
    plans = {plan["id"]: plan for plan in response.get_json()["items"]}
    pro = plans[str(demo_catalog["pro-monthly"])]
    assert pro == {
        "id": str(demo_catalog["pro-monthly"]),
        "name": "Pro",
        "description": "For teams shipping every day.",
        "price": "49.00",
        "currency": "USD",
        "billing_period": "monthly",
        "trial_days": 0,
    }
    assert len(plans) >= 2


def test_token_bundles_are_the_four_packages_of_the_design(
    client: FlaskClient, demo_catalog: dict[str, Any]
) -> None:
    bundles = client.get("/api/v1/token-bundles").get_json()["items"]
    assert [(b["token_amount"], b["price"], b["currency"]) for b in bundles] == [
        (50, "49.00", "USD"),
        (100, "89.00", "USD"),
        (250, "199.00", "USD"),
        (500, "349.00", "USD"),
    ]


def test_add_ons_carry_description_and_billing_period(
    client: FlaskClient, demo_catalog: dict[str, Any]
) -> None:
    add_ons = client.get("/api/v1/addons").get_json()["items"]
    assert len(add_ons) == 2
    assert all(item["description"] and item["billing_period"] for item in add_ons)


def test_inactive_items_are_not_listed(client: FlaskClient, catalog: CatalogBuilder) -> None:
    active = catalog.plan(name="On sale")
    retired = catalog.plan(name="Retired", active=False)
    bundle = catalog.bundle(active=False)
    add_on = catalog.add_on(active=False, period=BillingPeriod.YEARLY)

    plan_ids = [item["id"] for item in client.get("/api/v1/plans").get_json()["items"]]
    bundle_ids = [item["id"] for item in client.get("/api/v1/token-bundles").get_json()["items"]]
    add_on_ids = [item["id"] for item in client.get("/api/v1/addons").get_json()["items"]]

    assert str(active) in plan_ids and str(retired) not in plan_ids
    assert str(bundle) not in bundle_ids
    assert str(add_on) not in add_on_ids
