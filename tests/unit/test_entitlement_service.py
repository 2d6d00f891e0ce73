"""EntitlementService over the fakes: subscription, then trial, then tokens."""

import uuid
from datetime import timedelta

import pytest

from src.clock import utc_now
from src.models.subscription import SubscriptionStatus
from src.models.token_usage import UsageSource
from src.services.entitlement_service import Entitlement
from tests.unit.builders import PAYER, Billing

NOW = utc_now()


@pytest.mark.parametrize(
    ("status", "expires_in", "active"),
    [
        pytest.param(SubscriptionStatus.ACTIVE, None, True, id="active-open-ended"),
        pytest.param(SubscriptionStatus.ACTIVE, timedelta(seconds=1), True, id="active-ending"),
        pytest.param(SubscriptionStatus.ACTIVE, timedelta(0), False, id="expires-right-now"),
        pytest.param(SubscriptionStatus.ACTIVE, -timedelta(days=1), False, id="expired"),
        pytest.param(SubscriptionStatus.PENDING, None, False, id="pending"),
        pytest.param(SubscriptionStatus.CANCELED, None, False, id="cancelled"),
    ],
)
def test_active_subscription_is_status_active_and_not_expired(
    billing: Billing, status: SubscriptionStatus, expires_in: timedelta | None, active: bool
) -> None:
    expires_at = None if expires_in is None else NOW + expires_in
    subscription = billing.subscription(PAYER, status, expires_at=expires_at)

    found = billing.entitlement_service().active_subscription(PAYER, NOW)

    assert found is (subscription if active else None)


def test_no_subscription_at_all_is_none(billing: Billing) -> None:
    assert billing.entitlement_service().active_subscription(PAYER, NOW) is None


def test_another_users_subscription_does_not_count(billing: Billing) -> None:
    billing.subscription(uuid.uuid4(), SubscriptionStatus.ACTIVE)

    assert billing.entitlement_service().active_subscription(PAYER, NOW) is None


def test_an_active_subscription_covers_the_next_use_before_trial_and_tokens(
    billing: Billing,
) -> None:
    billing.user(trial_remaining=2)
    billing.grant(PAYER, 5)
    subscription = billing.subscribed(PAYER, billing.plan())

    assert billing.entitlement_service().current(PAYER) == Entitlement(
        UsageSource.SUBSCRIPTION, subscription, 2, 5
    )


@pytest.mark.parametrize(("tokens", "source"), [(5, UsageSource.TOKENS), (0, None)])
def test_a_metered_plan_does_not_cover_uses_and_blocks_the_trial(
    billing: Billing, tokens: int, source: UsageSource | None
) -> None:
    billing.user(trial_remaining=2)
    if tokens:
        billing.grant(PAYER, tokens)
    subscription = billing.subscribed(PAYER, billing.plan(metered=True))

    assert billing.entitlement_service().current(PAYER) == Entitlement(
        source, subscription, 2, tokens
    )


def test_without_a_subscription_the_trial_comes_before_tokens(billing: Billing) -> None:
    billing.user(trial_remaining=1)
    billing.grant(PAYER, 5)

    assert billing.entitlement_service().current(PAYER) == Entitlement(
        UsageSource.TRIAL, None, 1, 5
    )


def test_an_expired_subscription_leaves_the_trial_in_charge(billing: Billing) -> None:
    billing.user(trial_remaining=1)
    billing.subscribed(PAYER, billing.plan(), expires_at=NOW - timedelta(minutes=1))

    entitlement = billing.entitlement_service().current(PAYER)

    assert (entitlement.source, entitlement.subscription) == (UsageSource.TRIAL, None)


def test_without_trial_the_tokens_pay(billing: Billing) -> None:
    billing.user(trial_remaining=0)
    billing.grant(PAYER, 1)

    assert billing.entitlement_service().current(PAYER) == Entitlement(
        UsageSource.TOKENS, None, 0, 1
    )


def test_nothing_left_means_the_next_use_is_refused(billing: Billing) -> None:
    billing.user(trial_remaining=0)

    assert billing.entitlement_service().current(PAYER) == Entitlement(None, None, 0, 0)


def test_an_unknown_user_has_no_trial_and_no_tokens(billing: Billing) -> None:
    assert billing.entitlement_service().current(uuid.uuid4()) == Entitlement(None, None, 0, 0)
