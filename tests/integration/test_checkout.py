"""POST /user/checkout: everything PENDING, one invoice, one line per thing bought."""

import uuid
from decimal import Decimal
from typing import Any

import psycopg2
import pytest
from dependency_injector import providers
from flask.testing import FlaskClient
from sqlalchemy import select

from src.app import BillingApp
from src.extensions import db
from src.models.addon import AddOnSubscription
from src.models.invoice import Invoice, InvoiceLineItem
from src.models.plan import BillingPeriod
from src.models.subscription import Subscription, SubscriptionStatus
from src.models.token_bundle import TokenBundlePurchase
from src.services.invoice_service import InvoiceService
from tests.support.api import ApiClient, RegisteredUser
from tests.support.catalog import CatalogBuilder
from tests.support.recording import record_notifications

CHECKOUT = "/api/v1/user/checkout"
WRITTEN_BY_CHECKOUT = (
    Subscription,
    TokenBundlePurchase,
    AddOnSubscription,
    Invoice,
    InvoiceLineItem,
)


def nothing_written(count_rows: Any) -> bool:
    return all(count_rows(model) == 0 for model in WRITTEN_BY_CHECKOUT)


def activate_subscription(app: BillingApp, subscription_id: str) -> None:
    """Test set-up: stand in for a captured payment (capture is another feature's test)."""
    with app.app_context():
        subscription = db.session.get(Subscription, uuid.UUID(subscription_id))
        assert subscription is not None
        subscription.status = SubscriptionStatus.ACTIVE
        db.session.commit()


def test_full_checkout_creates_everything_pending_with_one_invoice(
    api: ApiClient, user: RegisteredUser, demo_catalog: dict[str, Any], app: BillingApp
) -> None:
    tokens_50, tokens_100 = demo_catalog["tokens-50"], demo_catalog["tokens-100"]
    body = api.checkout(
        user,
        plan_id=demo_catalog["pro-monthly"],
        token_bundle_ids=(tokens_50, tokens_100, tokens_50),
        add_on_ids=(demo_catalog["priority-support"],),
    )

    assert body["message"] == "Checkout created. Awaiting payment."
    assert body["next_step"]
    assert body["subscription"]["status"] == "pending"
    assert body["subscription"]["plan_id"] == str(demo_catalog["pro-monthly"])
    invoice = body["invoice"]
    assert invoice["status"] == "pending"
    assert invoice["currency"] == "USD"
    assert invoice["number"].startswith("INV-") and len(invoice["number"]) == 10
    lines = [
        (line["item_type"], line["quantity"], line["unit_price"], line["total_price"])
        for line in invoice["line_items"]
    ]
    assert lines == [
        ("subscription", 1, "49.00", "49.00"),
        ("token_bundle", 2, "49.00", "98.00"),
        ("token_bundle", 1, "89.00", "89.00"),
        ("add_on", 1, "9.00", "9.00"),
    ]
    assert invoice["total_amount"] == "245.00"
    assert [(p["quantity"], p["total_tokens"], p["status"]) for p in body["token_bundles"]] == [
        (2, 100, "pending"),
        (1, 100, "pending"),
    ]
    assert body["add_ons"][0]["status"] == "pending"
    assert body["add_ons"][0]["subscription_id"] == body["subscription"]["id"]

    line_targets = {line["item_id"] for line in invoice["line_items"]}
    expected_targets = {body["subscription"]["id"], body["add_ons"][0]["id"]}
    expected_targets |= {purchase["id"] for purchase in body["token_bundles"]}
    assert line_targets == expected_targets
    with app.app_context():
        stored = db.session.get(Invoice, uuid.UUID(invoice["id"]))
        assert stored is not None and stored.user_id == user.id
        assert stored.total_amount == Decimal("245.00")


def test_bundles_only_checkout_has_no_subscription(
    api: ApiClient, user: RegisteredUser, demo_catalog: dict[str, Any]
) -> None:
    body = api.checkout(user, token_bundle_ids=(demo_catalog["tokens-500"],))
    assert body["subscription"] is None
    assert body["add_ons"] == []
    assert body["invoice"]["total_amount"] == "349.00"


def test_prices_come_from_the_catalog_not_the_request(
    client: FlaskClient, user: RegisteredUser, demo_catalog: dict[str, Any], count_rows: Any
) -> None:
    response = client.post(
        CHECKOUT,
        json={"token_bundle_ids": [str(demo_catalog["tokens-50"])], "price": "0.01"},
        headers=user.headers,
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["details"][0]["field"] == "price"
    assert nothing_written(count_rows)


def test_empty_checkout_is_refused(
    api: ApiClient, user: RegisteredUser, count_rows: Any, client: FlaskClient
) -> None:
    body = api.checkout(user, expect=400)
    assert body["error"]["code"] == "empty_checkout"
    no_body = client.post(CHECKOUT, headers=user.headers)
    assert no_body.status_code == 400
    assert no_body.get_json()["error"]["code"] == "empty_checkout"
    assert nothing_written(count_rows)


@pytest.mark.parametrize(
    "field, code",
    [
        ("plan_id", "plan_not_found"),
        ("token_bundle_ids", "token_bundle_not_found"),
        ("add_on_ids", "add_on_not_found"),
    ],
)
def test_unknown_ids_are_404_and_nothing_is_written(
    api: ApiClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
    count_rows: Any,
    field: str,
    code: str,
) -> None:
    kwargs: dict[str, Any] = {
        "plan_id": demo_catalog["pro-monthly"],
        "token_bundle_ids": (demo_catalog["tokens-50"],),
    }
    unknown = uuid.uuid4()
    kwargs[field] = unknown if field == "plan_id" else (*kwargs.get(field, ()), unknown)
    body = api.checkout(user, **kwargs, expect=404)
    assert body["error"]["code"] == code
    assert nothing_written(count_rows)


def test_inactive_items_are_400_and_nothing_is_written(
    api: ApiClient, user: RegisteredUser, catalog: CatalogBuilder, count_rows: Any
) -> None:
    plan, bundle = catalog.plan(), catalog.bundle()
    retired_plan, retired_bundle = catalog.plan(active=False), catalog.bundle(active=False)
    retired_add_on = catalog.add_on(active=False)

    codes = [
        api.checkout(user, plan_id=retired_plan, expect=400)["error"]["code"],
        api.checkout(user, plan_id=plan, token_bundle_ids=(bundle, retired_bundle), expect=400)[
            "error"
        ]["code"],
        api.checkout(user, plan_id=plan, add_on_ids=(retired_add_on,), expect=400)["error"]["code"],
    ]
    assert codes == ["plan_inactive", "token_bundle_inactive", "add_on_inactive"]
    assert nothing_written(count_rows)


def test_mixed_currencies_are_refused(
    api: ApiClient, user: RegisteredUser, catalog: CatalogBuilder, count_rows: Any
) -> None:
    usd_plan = catalog.plan(currency="USD")
    eur_bundle = catalog.bundle(currency="EUR")
    body = api.checkout(user, plan_id=usd_plan, token_bundle_ids=(eur_bundle,), expect=400)
    assert body["error"]["code"] == "currency_mismatch"
    assert body["error"]["details"] == {"currencies": ["EUR", "USD"]}
    assert nothing_written(count_rows)


def test_a_checkout_in_euros_is_invoiced_in_euros(
    api: ApiClient, user: RegisteredUser, catalog: CatalogBuilder
) -> None:
    body = api.checkout(user, token_bundle_ids=(catalog.bundle(price="45.50", currency="EUR"),))
    assert (body["invoice"]["currency"], body["invoice"]["total_amount"]) == ("EUR", "45.50")


def test_add_on_without_a_plan_or_active_subscription_is_refused(
    api: ApiClient, user: RegisteredUser, demo_catalog: dict[str, Any], count_rows: Any
) -> None:
    body = api.checkout(user, add_on_ids=(demo_catalog["priority-support"],), expect=400)
    assert body["error"]["code"] == "add_on_requires_subscription"
    assert nothing_written(count_rows)


def test_a_pending_subscription_does_not_qualify_for_add_ons(
    api: ApiClient, user: RegisteredUser, demo_catalog: dict[str, Any]
) -> None:
    api.checkout(user, plan_id=demo_catalog["pro-monthly"])
    body = api.checkout(user, add_on_ids=(demo_catalog["priority-support"],), expect=409)
    assert body["error"]["code"] == "add_on_parent_inactive"


def test_add_on_joins_the_active_subscription(
    api: ApiClient, user: RegisteredUser, demo_catalog: dict[str, Any], app: BillingApp
) -> None:
    first = api.checkout(user, plan_id=demo_catalog["pro-monthly"])
    activate_subscription(app, first["subscription"]["id"])

    body = api.checkout(user, add_on_ids=(demo_catalog["analytics-pack"],))

    assert body["subscription"] is None
    assert body["add_ons"][0]["subscription_id"] == first["subscription"]["id"]
    assert body["invoice"]["line_items"][0]["item_type"] == "add_on"


def test_the_same_add_on_twice_is_refused(
    api: ApiClient, user: RegisteredUser, demo_catalog: dict[str, Any], app: BillingApp
) -> None:
    add_on = demo_catalog["priority-support"]
    in_one_request = api.checkout(
        user, plan_id=demo_catalog["pro-monthly"], add_on_ids=(add_on, add_on), expect=400
    )
    assert in_one_request["error"]["code"] == "duplicate_add_on"

    first = api.checkout(user, plan_id=demo_catalog["pro-monthly"], add_on_ids=(add_on,))
    activate_subscription(app, first["subscription"]["id"])
    again = api.checkout(user, add_on_ids=(add_on,), expect=409)
    assert again["error"]["code"] == "add_on_exists"


def test_second_plan_while_one_is_pending_or_active_is_409(
    api: ApiClient, user: RegisteredUser, demo_catalog: dict[str, Any], app: BillingApp
) -> None:
    first = api.checkout(user, plan_id=demo_catalog["starter-monthly"])
    pending = api.checkout(user, plan_id=demo_catalog["pro-monthly"], expect=409)
    activate_subscription(app, first["subscription"]["id"])
    active = api.checkout(user, plan_id=demo_catalog["pro-yearly"], expect=409)

    assert pending["error"]["code"] == active["error"]["code"] == "subscription_exists"


def test_another_user_can_buy_the_same_plan(
    api: ApiClient, user: RegisteredUser, demo_catalog: dict[str, Any]
) -> None:
    api.checkout(user, plan_id=demo_catalog["pro-monthly"])
    api.checkout(api.register(), plan_id=demo_catalog["pro-monthly"])


def test_invoice_numbers_are_unique_and_increasing(
    api: ApiClient, user: RegisteredUser, demo_catalog: dict[str, Any]
) -> None:
    numbers = [
        api.checkout(user, token_bundle_ids=(demo_catalog["tokens-50"],))["invoice"]["number"]
        for _ in range(3)
    ]
    values = [int(number.removeprefix("INV-")) for number in numbers]
    assert values == sorted(values) and len(set(values)) == 3


@pytest.mark.parametrize(
    "payload",
    [
        {"token_bundle_ids": "not-a-list"},
        {"plan_id": 42},
        {"plan_id": "not-a-uuid"},
        {"token_bundle_ids": [str(uuid.uuid4())] * 101},
    ],
)
def test_wrong_types_are_400_validation_failed(
    client: FlaskClient, user: RegisteredUser, payload: dict[str, Any]
) -> None:
    response = client.post(CHECKOUT, json=payload, headers=user.headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "validation_failed"


def test_a_json_array_body_is_400(client: FlaskClient, user: RegisteredUser) -> None:
    response = client.post(CHECKOUT, json=[1, 2], headers=user.headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "validation_failed"


class FailingInvoiceService(InvoiceService):
    """Writes the invoice, then fails: the fault lands after every other row was flushed."""

    def create_invoice(self, *args: Any, **kwargs: Any) -> Invoice:
        super().create_invoice(*args, **kwargs)
        raise RuntimeError("disk on fire: do not show this to clients")


def test_a_failure_after_the_writes_rolls_back_the_whole_checkout(
    app: BillingApp,
    api: ApiClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
    count_rows: Any,
    client: FlaskClient,
) -> None:
    received = record_notifications(app)
    app.container.billing.invoice_service.override(
        providers.Factory(FailingInvoiceService, invoices=app.container.billing.invoice_repository)
    )
    response = client.post(
        CHECKOUT,
        json={
            "plan_id": str(demo_catalog["pro-monthly"]),
            "token_bundle_ids": [str(demo_catalog["tokens-50"])],
            "add_on_ids": [str(demo_catalog["priority-support"])],
        },
        headers=user.headers,
    )

    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_error"
    assert "disk on fire" not in response.get_data(as_text=True)
    assert nothing_written(count_rows)
    assert received == []


def test_notifications_are_published_after_the_commit(
    app: BillingApp,
    api: ApiClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
    database_url: str,
) -> None:
    def committed_invoice_status(event: Any) -> Any:
        """Read from another connection: only committed rows are visible there."""
        invoice_id = getattr(event, "invoice_id", None)
        if invoice_id is None:
            return None
        with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT status FROM invoices WHERE id = %s", (str(invoice_id),))
            row = cursor.fetchone()
        return row[0] if row else "not committed"

    received = record_notifications(app, probe=committed_invoice_status)
    body = api.checkout(user, plan_id=demo_catalog["pro-monthly"])

    assert [(event.name, seen) for event, seen in received] == [
        ("subscription.created", None),
        ("invoice.created", "pending"),
    ]
    subscription_event, invoice_event = (event for event, _ in received)
    assert str(subscription_event.subscription_id) == body["subscription"]["id"]
    assert str(invoice_event.invoice_id) == body["invoice"]["id"]
    assert invoice_event.total_amount == Decimal("49.00")


def test_a_failing_listener_does_not_undo_the_checkout(
    app: BillingApp,
    api: ApiClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
    count_rows: Any,
) -> None:
    def explode(event: Any) -> None:
        raise RuntimeError("mail server down")

    record_notifications(app, probe=explode)
    api.checkout(user, plan_id=demo_catalog["pro-monthly"])
    assert count_rows(Invoice) == 1


def test_yearly_plan_line_says_so(
    api: ApiClient, user: RegisteredUser, catalog: CatalogBuilder
) -> None:
    plan = catalog.plan(period=BillingPeriod.YEARLY, name="Annual", price="120.00")
    body = api.checkout(user, plan_id=plan)
    assert body["invoice"]["line_items"][0]["description"] == "Annual (yearly)"
    assert body["subscription"]["billing_period"] == "yearly"


def test_user_ids_in_the_body_are_refused(
    client: FlaskClient, user: RegisteredUser, demo_catalog: dict[str, Any], app: BillingApp
) -> None:
    """The buyer is always the token's user; a user_id field is an unknown field."""
    other = uuid.uuid4()
    response = client.post(
        CHECKOUT,
        json={"user_id": str(other), "token_bundle_ids": [str(demo_catalog["tokens-50"])]},
        headers=user.headers,
    )
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(Invoice).where(Invoice.user_id == other)) is None
