"""When periods end: calendar months and years, never "30 days".

A subscription's periods are counted from its anchor (the start of its first paid period),
so Jan 31 → Feb 28 (29) → Mar 31 → Apr 30: each end is ``anchor + n months``, never the
previous end plus a month (which would drift to the 28th for good).
"""

from datetime import datetime

from dateutil.relativedelta import relativedelta

from src.models.plan import BillingPeriod

_LENGTH = {
    BillingPeriod.MONTHLY: relativedelta(months=1),
    BillingPeriod.YEARLY: relativedelta(years=1),
}


def period_end(start: datetime, period: BillingPeriod) -> datetime | None:
    """The end of one period from ``start``; ``None`` for one-time purchases (no expiry).

    Jan 31 + 1 month is Feb 28 (or 29): dateutil clamps to the month's last day.
    """
    length = _LENGTH.get(period)
    return None if length is None else start + length


def period_end_after(
    anchor: datetime, boundary: datetime, period: BillingPeriod
) -> datetime | None:
    """The end of the period that starts at ``boundary``, on ``anchor``'s calendar: the first
    ``anchor + n periods`` later than ``boundary``."""
    length = _LENGTH.get(period)
    if length is None:
        return None
    if period is BillingPeriod.MONTHLY:
        count = (boundary.year - anchor.year) * 12 + boundary.month - anchor.month
    else:
        count = boundary.year - anchor.year
    count = max(1, count - 1)
    while anchor + length * count <= boundary:
        count += 1
    return anchor + length * count
