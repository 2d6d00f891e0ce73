"""Invoice, subscription and add-on services, and an in-progress idempotency key, over fakes.

The rest of IdempotencyService is in test_idempotency_service.py.
"""

import uuid
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from src.errors import Conflict, NotFound, ValidationFailed
from src.models.addon import AddOnSubscription
from src.models.invoice import InvoiceStatus, LineItemType
from src.models.subscription import Subscription, SubscriptionStatus
from src.services.invoice_service import InvoiceService, LineItemDraft, format_invoice_number
from tests.unit.builders import Billing
from tests.unit.fakes import (
    FakeAddOnSubscriptionRepository,
    FakeSubscriptionRepository,
)

USER = uuid.uuid4()
OTHER_USER = uuid.uuid4()
NOW = datetime(2027, 1, 31, 12, 0, tzinfo=timezone.utc)


def draft(price: str, quantity: int = 1, currency: str = "USD") -> LineItemDraft:
    return LineItemDraft(
        item_type=LineItemType.TOKEN_BUNDLE,
        item_id=uuid.uuid4(),
        description=f"item at {price}",
        quantity=quantity,
        unit_price=Decimal(price),
        currency=currency,
    )


@pytest.mark.parametrize(
    ("value", "number"), [(1, "INV-000001"), (42, "INV-000042"), (999999, "INV-999999")]
)
def test_invoice_numbers_are_zero_padded(value: int, number: str) -> None:
    assert format_invoice_number(value) == number


def test_invoices_are_numbered_from_the_sequence(billing: Billing) -> None:
    service = billing.invoice_service()
    billing.invoices.sequence = 41

    numbers = [service.create_invoice(USER, [draft("1.00")]).number for _ in range(2)]

    assert numbers == ["INV-000042", "INV-000043"]


def test_create_invoice_keeps_line_order_and_totals(billing: Billing) -> None:
    drafts = [draft("49.00"), draft("0.10", quantity=3), draft("9.99")]

    invoice = billing.invoice_service().create_invoice(USER, drafts)

    assert invoice.status is InvoiceStatus.PENDING
    assert invoice.user_id == USER
    assert [line.position for line in invoice.line_items] == [0, 1, 2]
    assert [line.item_id for line in invoice.line_items] == [d.item_id for d in drafts]
    assert [line.total_price for line in invoice.line_items] == [
        Decimal("49.00"),
        Decimal("0.30"),
        Decimal("9.99"),
    ]
    assert invoice.total_amount == Decimal("59.29")


@pytest.mark.parametrize("currencies", [["USD"], ["EUR", "EUR", "EUR"]])
def test_single_currency_returns_the_shared_currency(currencies: list[str]) -> None:
    assert InvoiceService.single_currency(currencies) == currencies[0]


def test_single_currency_refuses_a_mix() -> None:
    with pytest.raises(ValidationFailed) as caught:
        InvoiceService.single_currency(["USD", "GBP", "USD", "EUR"])

    assert caught.value.code == "currency_mismatch"
    assert caught.value.details == {"currencies": ["EUR", "GBP", "USD"]}


def test_create_invoice_refuses_mixed_currencies(billing: Billing) -> None:
    with pytest.raises(ValidationFailed) as caught:
        billing.invoice_service().create_invoice(USER, [draft("1.00"), draft("1.00", 1, "EUR")])

    assert caught.value.code == "currency_mismatch"
    assert billing.invoices.rows == {}


def test_get_for_user_returns_the_owners_invoice(billing: Billing) -> None:
    service = billing.invoice_service()
    invoice = service.create_invoice(USER, [draft("1.00")])

    assert service.get_for_user(invoice.id, USER) is invoice


@pytest.mark.parametrize("owner", [OTHER_USER, None])
def test_get_for_user_hides_other_users_and_missing_invoices(
    billing: Billing, owner: uuid.UUID | None
) -> None:
    service = billing.invoice_service()
    invoice_id = uuid.uuid4()
    if owner is not None:
        invoice_id = service.create_invoice(owner, [draft("1.00")]).id

    with pytest.raises(NotFound) as caught:
        service.get_for_user(invoice_id, USER)

    assert caught.value.code == "invoice_not_found"
    assert caught.value.status_code == 404


def test_find_current_ignores_a_pending_subscription(billing: Billing) -> None:
    billing.subscription(USER, SubscriptionStatus.PENDING)

    assert billing.subscription_service().find_current(USER, NOW) is None


def test_find_current_returns_the_active_subscription(billing: Billing) -> None:
    billing.subscription(OTHER_USER, SubscriptionStatus.ACTIVE)
    active = billing.subscription(USER, SubscriptionStatus.ACTIVE)

    assert billing.subscription_service().find_current(USER, NOW) is active


def test_find_current_ignores_an_active_subscription_whose_period_ended(billing: Billing) -> None:
    billing.subscription(USER, SubscriptionStatus.ACTIVE, expires_at=NOW)

    assert billing.subscription_service().find_current(USER, NOW) is None


def test_create_pending_is_pending_with_its_plan(billing: Billing) -> None:
    plan = billing.plan()

    created = billing.subscription_service().create_pending(USER, plan, NOW)
    subscription = created.subscription

    assert subscription.status is SubscriptionStatus.PENDING
    assert (subscription.plan, subscription.plan_id) == (plan, plan.id)
    assert billing.subscriptions.get(subscription.id) is subscription
    assert (created.lapsed, created.notifications) == (None, [])


class RacingSubscriptions(FakeSubscriptionRepository):
    def find_open_for_user(self, user_id: uuid.UUID) -> Subscription | None:
        return None


def test_create_pending_race_is_subscription_exists() -> None:
    billing = Billing(subscriptions=RacingSubscriptions())
    service = billing.subscription_service()
    service.create_pending(USER, billing.plan(), NOW)

    with pytest.raises(Conflict) as caught:
        service.create_pending(USER, billing.plan(), NOW)

    assert caught.value.code == "subscription_exists"
    assert len(billing.subscriptions.rows) == 1


def test_add_on_subscription_hangs_off_its_parent(billing: Billing) -> None:
    parent = billing.subscription(USER, SubscriptionStatus.ACTIVE)
    add_on = billing.add_on()

    created = billing.add_on_service().create_subscription(USER, add_on, parent, NOW)

    assert (created.subscription_id, created.addon_id, created.user_id) == (
        parent.id,
        add_on.id,
        USER,
    )
    assert created.status is SubscriptionStatus.PENDING


def test_second_open_add_on_subscription_is_add_on_exists(billing: Billing) -> None:
    parent = billing.subscription(USER, SubscriptionStatus.ACTIVE)
    add_on = billing.add_on()
    service = billing.add_on_service()
    service.create_subscription(USER, add_on, parent, NOW)

    with pytest.raises(Conflict) as caught:
        service.create_subscription(USER, add_on, parent, NOW)

    assert caught.value.code == "add_on_exists"


class RacingAddOnSubscriptions(FakeAddOnSubscriptionRepository):
    def find_open(self, user_id: uuid.UUID, add_on_id: uuid.UUID) -> AddOnSubscription | None:
        return None


def test_add_on_subscription_race_is_add_on_exists() -> None:
    billing = Billing(addon_subscriptions=RacingAddOnSubscriptions())
    parent = billing.subscription(USER, SubscriptionStatus.ACTIVE)
    add_on = billing.add_on()
    billing.add_on_service().create_subscription(USER, add_on, parent, NOW)

    with pytest.raises(Conflict) as caught:
        billing.add_on_service().create_subscription(USER, add_on, parent, NOW)

    assert caught.value.code == "add_on_exists"
    assert len(billing.addon_subscriptions.rows) == 1


def test_add_on_without_parent_requires_a_subscription(billing: Billing) -> None:
    with pytest.raises(ValidationFailed) as caught:
        billing.add_on_service().create_subscription(USER, billing.add_on(), None, NOW)

    assert caught.value.code == "add_on_requires_subscription"


def test_key_without_a_response_is_in_progress(billing: Billing) -> None:
    service = billing.idempotency_service()
    service.claim(USER, "k-1", "fp")

    with pytest.raises(Conflict) as caught:
        service.claim(USER, "k-1", "fp")

    assert caught.value.code == "idempotency_key_in_progress"
    assert caught.value.status_code == 409
