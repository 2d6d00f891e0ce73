"""CheckoutHandler with the real services over in-memory fakes."""

import uuid
from decimal import Decimal
from typing import Any

import pytest

from src.errors import ApiError, Conflict, NotFound, ValidationFailed
from src.events.base import EventResult
from src.events.checkout_events import InvoiceCreatedEvent, SubscriptionCreatedEvent
from src.events.checkout_results import CheckoutOutcome
from src.models.invoice import LineItemType
from src.models.subscription import SubscriptionStatus
from src.schemas.checkout import CHECKOUT_MESSAGE, CheckoutResponse
from tests.unit.builders import Billing

USER = uuid.UUID("00000000-0000-4000-8000-000000000001")


def checkout(billing: Billing, **fields: Any) -> EventResult[CheckoutOutcome]:
    return billing.checkout(USER, **fields)


def refused(billing: Billing, **fields: Any) -> ApiError:
    before = billing.row_counts()
    with pytest.raises(ApiError) as caught:
        checkout(billing, **fields)
    if "idempotency_key" not in fields:  # a refused checkout wrote nothing before refusing
        assert billing.row_counts() == before
    return caught.value


def test_empty_checkout_is_refused(billing: Billing) -> None:
    error = refused(billing)

    assert isinstance(error, ValidationFailed)
    assert error.code == "empty_checkout"


@pytest.mark.parametrize(
    ("field", "code"),
    [("plan_id", "plan_not_found"), ("token_bundle_ids", "token_bundle_not_found")],
)
def test_unknown_catalog_ids_are_not_found(billing: Billing, field: str, code: str) -> None:
    unknown = uuid.uuid4()
    value = unknown if field == "plan_id" else (unknown,)

    error = refused(billing, **{field: value})

    assert isinstance(error, NotFound)
    assert error.code == code


def test_unknown_add_on_is_not_found(billing: Billing) -> None:
    error = refused(billing, plan_id=billing.plan().id, add_on_ids=(uuid.uuid4(),))

    assert error.code == "add_on_not_found"


def test_inactive_items_are_refused_by_kind(billing: Billing) -> None:
    plan = billing.plan(active=False)
    bundle = billing.bundle(active=False)
    add_on = billing.add_on(active=False)

    assert refused(billing, plan_id=plan.id).code == "plan_inactive"
    assert refused(billing, token_bundle_ids=(bundle.id,)).code == "token_bundle_inactive"
    assert refused(billing, plan_id=billing.plan().id, add_on_ids=(add_on.id,)).code == (
        "add_on_inactive"
    )


def test_duplicate_add_on_ids_are_refused(billing: Billing) -> None:
    add_on = billing.add_on()

    error = refused(billing, plan_id=billing.plan().id, add_on_ids=(add_on.id, add_on.id))

    assert isinstance(error, ValidationFailed)
    assert error.code == "duplicate_add_on"


def test_mixed_currencies_are_refused(billing: Billing) -> None:
    plan = billing.plan(currency="USD")
    bundle = billing.bundle(currency="EUR")

    error = refused(billing, plan_id=plan.id, token_bundle_ids=(bundle.id,))

    assert error.code == "currency_mismatch"
    assert error.details == {"currencies": ["EUR", "USD"]}


def test_add_on_without_any_subscription_is_refused(billing: Billing) -> None:
    error = refused(billing, add_on_ids=(billing.add_on().id,))

    assert error.code == "add_on_requires_subscription"


def test_add_on_under_a_pending_subscription_is_refused(billing: Billing) -> None:
    """A parent that is not running now (here: not paid yet) is 409, not "no parent"."""
    billing.subscription(USER, SubscriptionStatus.PENDING)

    error = refused(billing, add_on_ids=(billing.add_on().id,))

    assert (error.code, error.status_code) == ("add_on_parent_inactive", 409)


def test_add_on_alone_attaches_to_the_active_subscription(billing: Billing) -> None:
    active = billing.subscription(USER, SubscriptionStatus.ACTIVE)

    created = checkout(billing, add_on_ids=(billing.add_on().id,)).data.result

    assert created.subscription is None
    assert [item.subscription_id for item in created.add_ons] == [active.id]


def test_second_open_add_on_is_add_on_exists(billing: Billing) -> None:
    billing.subscription(USER, SubscriptionStatus.ACTIVE)
    add_on = billing.add_on()
    checkout(billing, add_on_ids=(add_on.id,))

    with pytest.raises(Conflict) as caught:
        checkout(billing, add_on_ids=(add_on.id,))

    assert caught.value.code == "add_on_exists"


@pytest.mark.parametrize("status", [SubscriptionStatus.PENDING, SubscriptionStatus.ACTIVE])
def test_plan_with_an_open_subscription_is_subscription_exists(
    billing: Billing, status: SubscriptionStatus
) -> None:
    billing.subscription(USER, status)

    with pytest.raises(Conflict) as caught:
        checkout(billing, plan_id=billing.plan().id)

    assert caught.value.code == "subscription_exists"


def test_plan_after_a_cancelled_subscription_is_allowed(billing: Billing) -> None:
    billing.subscription(USER, SubscriptionStatus.CANCELED)

    created = checkout(billing, plan_id=billing.plan().id).data.result

    assert created.subscription is not None
    assert created.subscription.status is SubscriptionStatus.PENDING


def test_repeated_bundle_ids_become_one_purchase_with_quantity(billing: Billing) -> None:
    bundle = billing.bundle(tokens=100, price="89.00")

    created = checkout(billing, token_bundle_ids=(bundle.id, bundle.id, bundle.id)).data.result

    assert len(billing.purchases.rows) == 1
    [purchase] = created.token_bundles
    assert (purchase.quantity, purchase.token_amount, purchase.total_tokens) == (3, 100, 300)
    [line] = created.invoice.line_items
    assert (line.quantity, line.unit_price, line.total_price) == (
        3,
        Decimal("89.00"),
        Decimal("267.00"),
    )


def test_invoice_lines_are_ordered_and_totalled(billing: Billing) -> None:
    plan = billing.plan(price="49.00", name="Pro")
    small, large = billing.bundle(50, "49.00"), billing.bundle(500, "349.00")
    support, analytics = billing.add_on("9.00", name="Support"), billing.add_on("99.00", name="A")

    result = checkout(
        billing,
        plan_id=plan.id,
        token_bundle_ids=(large.id, small.id, large.id),
        add_on_ids=(support.id, analytics.id),
    )

    invoice = result.data.result.invoice
    assert [(line.item_type, line.description) for line in invoice.line_items] == [
        (LineItemType.SUBSCRIPTION, "Pro (monthly)"),
        (LineItemType.TOKEN_BUNDLE, "500 Tokens (500 tokens)"),
        (LineItemType.TOKEN_BUNDLE, "50 Tokens (50 tokens)"),
        (LineItemType.ADD_ON, "Support (yearly)"),
        (LineItemType.ADD_ON, "A (yearly)"),
    ]
    assert invoice.total_amount == Decimal("49.00") + 2 * Decimal("349.00") + Decimal("157.00")
    assert invoice.currency == "USD"
    assert invoice.number == "INV-000001"
    stored = billing.invoices.rows[invoice.id]
    assert stored.total_amount == invoice.total_amount
    rendered = CheckoutResponse.from_result(result.data.result)
    assert rendered.next_step == (
        f"Pay invoice INV-000001 ({invoice.total_amount} USD) to activate your purchase."
    )
    assert rendered.message == CHECKOUT_MESSAGE


def test_line_items_point_at_what_they_created(billing: Billing) -> None:
    plan, bundle, add_on = billing.plan(), billing.bundle(), billing.add_on()

    created = checkout(
        billing, plan_id=plan.id, token_bundle_ids=(bundle.id,), add_on_ids=(add_on.id,)
    ).data.result

    assert created.subscription is not None
    assert [line.item_id for line in created.invoice.line_items] == [
        created.subscription.id,
        created.token_bundles[0].id,
        created.add_ons[0].id,
    ]
    assert created.add_ons[0].subscription_id == created.subscription.id


def test_plan_checkout_notifies_subscription_then_invoice(billing: Billing) -> None:
    plan = billing.plan()

    result = checkout(billing, plan_id=plan.id)

    created, invoiced = result.notifications
    checked_out = result.data.result
    assert isinstance(created, SubscriptionCreatedEvent)
    assert checked_out.subscription is not None
    assert (created.subscription_id, created.user_id, created.plan_id, created.status) == (
        checked_out.subscription.id,
        USER,
        plan.id,
        "pending",
    )
    assert isinstance(invoiced, InvoiceCreatedEvent)
    assert (invoiced.invoice_id, invoiced.number, invoiced.total_amount, invoiced.currency) == (
        checked_out.invoice.id,
        "INV-000001",
        Decimal("49.00"),
        "USD",
    )


def test_bundle_only_checkout_notifies_only_the_invoice(billing: Billing) -> None:
    result = checkout(billing, token_bundle_ids=(billing.bundle().id,))

    assert [type(item) for item in result.notifications] == [InvoiceCreatedEvent]
    assert result.data.result.subscription is None
