"""Dunning's schedule and access while past due (DUNNING_RETRY_DAYS, DUNNING_GRACE), and the
one access rule every read uses."""

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from src.config import Settings
from src.models.subscription import Subscription, SubscriptionStatus
from src.services.dunning_policy import DunningPolicy, parse_grace, parse_retry_days
from src.services.subscription_access import grants_access

BOUNDARY = datetime(2027, 1, 31, 12, tzinfo=timezone.utc)
DAY = timedelta(days=1)


def subscription(status: SubscriptionStatus, end: datetime | None = BOUNDARY) -> Subscription:
    return Subscription(
        user_id=uuid.uuid4(), plan_id=uuid.uuid4(), status=status, current_period_end=end
    )


def test_retries_fall_on_the_days_after_the_boundary_then_stop() -> None:
    policy = DunningPolicy(retry_days=(1, 3, 5))

    schedule = [policy.next_retry(BOUNDARY, failures) for failures in (1, 2, 3, 4)]

    assert schedule == [BOUNDARY + DAY, BOUNDARY + 3 * DAY, BOUNDARY + 5 * DAY, None]
    assert [policy.retries_left(failures) for failures in (1, 2, 3, 4)] == [3, 2, 1, 0]


@pytest.mark.parametrize("value", ["", "0", "3,1", "1,1", "a,b", "1,2,3,4,5,6,7,8,9,10,11"])
def test_a_bad_retry_schedule_is_refused_at_start(value: str) -> None:
    with pytest.raises(ValueError):
        parse_retry_days(value)
    with pytest.raises(ValueError):
        Settings(DUNNING_RETRY_DAYS=value)


def test_grace_until_the_last_retry_keeps_access_while_past_due() -> None:
    policy = DunningPolicy(grace_days=parse_grace("until_last_retry"))
    past_due = subscription(SubscriptionStatus.PAST_DUE)

    assert grants_access(past_due, BOUNDARY + 30 * DAY, policy)
    assert policy.access_until(BOUNDARY) is None


def test_no_grace_ends_access_at_the_period_end() -> None:
    policy = DunningPolicy(grace_days=parse_grace("none"))

    assert not grants_access(subscription(SubscriptionStatus.PAST_DUE), BOUNDARY, policy)


def test_a_grace_in_days_ends_access_that_many_days_after_the_period_end() -> None:
    policy = DunningPolicy(grace_days=parse_grace("2"))
    past_due = subscription(SubscriptionStatus.PAST_DUE)

    assert grants_access(past_due, BOUNDARY + 2 * DAY - timedelta(seconds=1), policy)
    assert not grants_access(past_due, BOUNDARY + 2 * DAY, policy)


def test_a_bad_grace_is_refused_at_start() -> None:
    with pytest.raises(ValueError):
        Settings(DUNNING_GRACE="forever")


@pytest.mark.parametrize(
    ("status", "now", "granted"),
    [
        pytest.param(SubscriptionStatus.ACTIVE, BOUNDARY - DAY, True, id="active-in-period"),
        pytest.param(SubscriptionStatus.ACTIVE, BOUNDARY, False, id="active-period-ended"),
        pytest.param(SubscriptionStatus.TRIALING, BOUNDARY - DAY, True, id="trialing"),
        pytest.param(SubscriptionStatus.TRIALING, BOUNDARY, False, id="trial-ended"),
        pytest.param(SubscriptionStatus.PENDING, BOUNDARY - DAY, False, id="pending"),
        pytest.param(SubscriptionStatus.CANCELED, BOUNDARY - DAY, False, id="canceled"),
        pytest.param(SubscriptionStatus.EXPIRED, BOUNDARY - DAY, False, id="expired"),
    ],
)
def test_access_follows_status_and_period(
    status: SubscriptionStatus, now: datetime, granted: bool
) -> None:
    assert grants_access(subscription(status), now, DunningPolicy()) is granted


def test_a_one_time_plan_never_ends_by_time() -> None:
    one_time = subscription(SubscriptionStatus.ACTIVE, end=None)

    assert grants_access(one_time, BOUNDARY + 3650 * DAY, DunningPolicy())
