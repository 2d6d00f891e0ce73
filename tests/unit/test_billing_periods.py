"""period_end and period_end_after: calendar months and years (clamped to the month's last
day), none for one-time."""

from datetime import datetime, timedelta, timezone

import pytest

from src.models.plan import BillingPeriod
from src.services.billing_periods import period_end, period_end_after

UTC = timezone.utc


def at(year: int, month: int, day: int, hour: int = 9, minute: int = 30) -> datetime:
    return datetime(year, month, day, hour, minute, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        pytest.param(at(2025, 1, 31), at(2025, 2, 28), id="jan31-to-feb28"),
        pytest.param(at(2024, 1, 31), at(2024, 2, 29), id="jan31-to-feb29-leap"),
        pytest.param(at(2025, 3, 31), at(2025, 4, 30), id="mar31-to-apr30"),
        pytest.param(at(2025, 1, 15), at(2025, 2, 15), id="mid-month"),
        pytest.param(at(2025, 12, 31), at(2026, 1, 31), id="across-the-year"),
        pytest.param(at(2025, 2, 28), at(2025, 3, 28), id="feb28-to-mar28-not-mar31"),
    ],
)
def test_monthly_ends_one_calendar_month_later(start: datetime, end: datetime) -> None:
    assert period_end(start, BillingPeriod.MONTHLY) == end


@pytest.mark.parametrize(
    ("start", "end"),
    [
        pytest.param(at(2024, 2, 29), at(2025, 2, 28), id="feb29-to-feb28"),
        pytest.param(at(2023, 2, 28), at(2024, 2, 28), id="feb28-stays-feb28"),
        pytest.param(at(2025, 7, 4), at(2026, 7, 4), id="same-day-next-year"),
        pytest.param(at(2024, 1, 15), at(2025, 1, 15), id="across-a-leap-day-366-days"),
        pytest.param(at(2023, 3, 1), at(2024, 3, 1), id="into-a-leap-year-366-days"),
    ],
)
def test_yearly_ends_one_calendar_year_later(start: datetime, end: datetime) -> None:
    assert period_end(start, BillingPeriod.YEARLY) == end


@pytest.mark.parametrize("period", [BillingPeriod.MONTHLY, BillingPeriod.YEARLY])
def test_period_end_keeps_time_of_day_and_utc(period: BillingPeriod) -> None:
    start = datetime(2025, 5, 10, 23, 59, 59, 123456, tzinfo=UTC)

    end = period_end(start, period)

    assert end is not None
    assert (end.hour, end.minute, end.second, end.microsecond) == (23, 59, 59, 123456)
    assert end.utcoffset() == timedelta(0)


def test_one_time_has_no_end() -> None:
    assert period_end(at(2025, 1, 31), BillingPeriod.ONE_TIME) is None


def ends_from(anchor: datetime, period: BillingPeriod, count: int) -> list[datetime]:
    """The ends of ``count`` consecutive periods, each starting at the previous end."""
    ends, boundary = [], anchor
    for _ in range(count):
        end = period_end_after(anchor, boundary, period)
        assert end is not None
        ends.append(end)
        boundary = end
    return ends


def test_monthly_periods_from_the_31st_keep_to_month_ends() -> None:
    assert ends_from(at(2027, 1, 31), BillingPeriod.MONTHLY, 4) == [
        at(2027, 2, 28),
        at(2027, 3, 31),
        at(2027, 4, 30),
        at(2027, 5, 31),
    ]


def test_monthly_periods_take_the_29th_of_a_leap_february() -> None:
    assert ends_from(at(2028, 1, 31), BillingPeriod.MONTHLY, 2) == [
        at(2028, 2, 29),
        at(2028, 3, 31),
    ]


def test_yearly_periods_from_a_leap_day_come_back_to_it() -> None:
    assert ends_from(at(2028, 2, 29), BillingPeriod.YEARLY, 4) == [
        at(2029, 2, 28),
        at(2030, 2, 28),
        at(2031, 2, 28),
        at(2032, 2, 29),
    ]


def test_a_boundary_inside_a_period_gets_that_periods_end() -> None:
    """A late renewal (or a restored one) still ends where the calendar says."""
    assert period_end_after(at(2027, 1, 31), at(2027, 3, 5), BillingPeriod.MONTHLY) == at(
        2027, 3, 31
    )


def test_one_time_plans_have_no_period_end() -> None:
    assert period_end_after(at(2027, 1, 31), at(2027, 1, 31), BillingPeriod.ONE_TIME) is None
