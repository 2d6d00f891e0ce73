"""The proration of an upgrade within a period, in exact arithmetic.

    amount = (new price − old price) × unused seconds / period seconds

rounded half-even to the currency's minor unit. Seconds are whole seconds (the remainder of
the current second is not counted). Example: a period of 31 days (2,678,400 s), upgraded from
9.99 to 29.99 with 10 days 12 hours (907,200 s) left: 20.00 × 907,200 / 2,678,400
= 6.774193… → 6.77.
"""

from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from src.money import from_minor_units

_SECOND = timedelta(seconds=1)
# Every supported currency has two decimals (src/money.py): the minor unit is 0.01.
_MINOR_UNIT = from_minor_units(1)


def proration_amount(
    old_price: Decimal,
    new_price: Decimal,
    period_start: datetime,
    period_end: datetime,
    now: datetime,
) -> Decimal:
    total = (period_end - period_start) // _SECOND
    unused = min(max(0, (period_end - now) // _SECOND), max(total, 0))
    if total <= 0 or unused == 0 or new_price <= old_price:
        return Decimal(0).quantize(_MINOR_UNIT)
    exact = (new_price - old_price) * Decimal(unused) / Decimal(total)
    return exact.quantize(_MINOR_UNIT, rounding=ROUND_HALF_EVEN)
