"""When a period that starts now ends: calendar months and years, never "30 days"."""

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
