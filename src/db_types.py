"""Column types that keep two promises whatever the driver does.

``UTCDateTime`` hands back aware UTC datetimes even where the driver forgets the zone, and
``MinorUnits`` stores money as an integer count of cents so no float ever touches an amount.
"""

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect
from sqlalchemy.types import TypeDecorator

from src.money import from_minor_units, to_minor_units


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that refuses naive input and always reads back as aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("Naive datetimes are not stored; use src.clock.utc_now().")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):  # pragma: no cover - drivers return datetimes
            raise TypeError(f"Unexpected timestamp value {value!r}")
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class MinorUnits(TypeDecorator[Decimal]):
    """A money amount: ``Decimal`` in Python, integer minor units (cents) in the database."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            # An int here is ambiguous (49 dollars or 49 cents?), so only Decimal is accepted.
            raise TypeError(f"Money must be a Decimal, got {type(value).__name__}.")
        return to_minor_units(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return from_minor_units(int(value))
