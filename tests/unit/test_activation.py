"""What a captured payment activates: subscriptions, token bundle purchases and add-ons."""

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from src.errors import InvalidState, NotFound
from src.models.plan import BillingPeriod
from src.models.subscription import SubscriptionStatus
from src.models.token_bundle import PurchaseStatus
from tests.unit.builders import Billing

USER = uuid.UUID("00000000-0000-4000-8000-0000000000b1")
NOW = datetime(2025, 1, 31, 12, 0, tzinfo=timezone.utc)
FEB_28 = datetime(2025, 2, 28, 12, 0, tzinfo=timezone.utc)
NEXT_JAN_31 = datetime(2026, 1, 31, 12, 0, tzinfo=timezone.utc)
NOT_PENDING = [SubscriptionStatus.ACTIVE, SubscriptionStatus.CANCELED, SubscriptionStatus.EXPIRED]


@pytest.mark.parametrize(
    ("period", "expires_at"),
    [(BillingPeriod.MONTHLY, FEB_28), (BillingPeriod.YEARLY, NEXT_JAN_31)],
)
def test_activate_pending_subscription_starts_now_for_one_period(
    billing: Billing, period: BillingPeriod, expires_at: datetime
) -> None:
    pending = billing.subscription(USER, SubscriptionStatus.PENDING, billing.plan(period=period))

    activated = billing.subscription_service().activate(pending.id, NOW)

    assert activated is pending
    assert (activated.status, activated.starts_at, activated.expires_at) == (
        SubscriptionStatus.ACTIVE,
        NOW,
        expires_at,
    )


@pytest.mark.parametrize("status", NOT_PENDING)
def test_activate_non_pending_subscription_is_subscription_not_pending(
    billing: Billing, status: SubscriptionStatus
) -> None:
    subscription = billing.subscription(USER, status)

    with pytest.raises(InvalidState) as caught:
        billing.subscription_service().activate(subscription.id, NOW)

    assert (caught.value.status_code, caught.value.code) == (409, "subscription_not_pending")
    assert (subscription.status, subscription.starts_at) == (status, None)


def test_activate_unknown_subscription_is_not_found(billing: Billing) -> None:
    with pytest.raises(NotFound) as caught:
        billing.subscription_service().activate(uuid.uuid4(), NOW)

    assert caught.value.code == "subscription_not_found"


def test_complete_pending_purchase_marks_it_completed_now(billing: Billing) -> None:
    bundle = billing.bundle(tokens=100)
    pending = billing.token_bundle_service().create_purchase(USER, bundle, quantity=3)

    [completed] = billing.token_bundle_service().complete_purchases([pending.id], NOW)

    assert completed is pending
    assert (completed.status, completed.completed_at) == (PurchaseStatus.COMPLETED, NOW)
    assert completed.total_tokens == 300


@pytest.mark.parametrize(
    "status", [PurchaseStatus.COMPLETED, PurchaseStatus.REFUNDED, PurchaseStatus.CANCELLED]
)
def test_complete_non_pending_purchase_is_purchase_not_pending(
    billing: Billing, status: PurchaseStatus
) -> None:
    purchase = billing.token_bundle_service().create_purchase(USER, billing.bundle(), 1)
    purchase.status = status

    with pytest.raises(InvalidState) as caught:
        billing.token_bundle_service().complete_purchases([purchase.id], NOW)

    assert caught.value.code == "purchase_not_pending"
    assert (purchase.status, purchase.completed_at) == (status, None)


def test_complete_unknown_purchase_is_not_found(billing: Billing) -> None:
    with pytest.raises(NotFound) as caught:
        billing.token_bundle_service().complete_purchases([uuid.uuid4()], NOW)

    assert caught.value.code == "token_bundle_purchase_not_found"


@pytest.mark.parametrize(
    ("add_on_period", "parent_expires_at", "expires_at"),
    [
        pytest.param(BillingPeriod.YEARLY, FEB_28, FEB_28, id="yearly-capped-by-monthly-parent"),
        pytest.param(
            BillingPeriod.MONTHLY,
            NOW + timedelta(days=10),
            NOW + timedelta(days=10),
            id="monthly-capped-by-parent-ending-sooner",
        ),
        pytest.param(BillingPeriod.MONTHLY, NEXT_JAN_31, FEB_28, id="monthly-within-parent"),
        pytest.param(BillingPeriod.YEARLY, NEXT_JAN_31, NEXT_JAN_31, id="yearly-equal-parent"),
        pytest.param(BillingPeriod.MONTHLY, None, FEB_28, id="parent-without-expiry"),
    ],
)
def test_recurring_add_on_expires_with_its_period_capped_by_parent(
    billing: Billing,
    add_on_period: BillingPeriod,
    parent_expires_at: datetime | None,
    expires_at: datetime,
) -> None:
    parent = billing.subscription(USER, SubscriptionStatus.ACTIVE, expires_at=parent_expires_at)
    pending = billing.addon_subscription(parent, billing.add_on(period=add_on_period))

    activated = billing.add_on_service().activate(pending.id, NOW)

    assert activated is pending
    assert (activated.status, activated.starts_at, activated.expires_at) == (
        SubscriptionStatus.ACTIVE,
        NOW,
        expires_at,
    )


def test_one_time_add_on_never_expires_even_under_an_expiring_parent(billing: Billing) -> None:
    parent = billing.subscription(USER, SubscriptionStatus.ACTIVE, expires_at=FEB_28)
    pending = billing.addon_subscription(parent, billing.add_on(period=BillingPeriod.ONE_TIME))

    activated = billing.add_on_service().activate(pending.id, NOW)

    assert (activated.status, activated.expires_at) == (SubscriptionStatus.ACTIVE, None)


@pytest.mark.parametrize(
    "parent_status",
    [SubscriptionStatus.PENDING, SubscriptionStatus.CANCELED, SubscriptionStatus.EXPIRED],
)
def test_add_on_under_an_inactive_parent_is_add_on_parent_inactive(
    billing: Billing, parent_status: SubscriptionStatus
) -> None:
    parent = billing.subscription(USER, parent_status, expires_at=FEB_28)
    pending = billing.addon_subscription(parent)

    with pytest.raises(InvalidState) as caught:
        billing.add_on_service().activate(pending.id, NOW)

    assert caught.value.code == "add_on_parent_inactive"
    assert (pending.status, pending.starts_at, pending.expires_at) == (
        SubscriptionStatus.PENDING,
        None,
        None,
    )


@pytest.mark.parametrize("status", NOT_PENDING)
def test_activate_non_pending_add_on_is_add_on_not_pending(
    billing: Billing, status: SubscriptionStatus
) -> None:
    parent = billing.subscription(USER, SubscriptionStatus.ACTIVE, expires_at=FEB_28)
    add_on_subscription = billing.addon_subscription(parent, status=status)

    with pytest.raises(InvalidState) as caught:
        billing.add_on_service().activate(add_on_subscription.id, NOW)

    assert caught.value.code == "add_on_not_pending"
    assert add_on_subscription.status is status


def test_activate_unknown_add_on_subscription_is_not_found(billing: Billing) -> None:
    with pytest.raises(NotFound) as caught:
        billing.add_on_service().activate(uuid.uuid4(), NOW)

    assert caught.value.code == "add_on_subscription_not_found"
