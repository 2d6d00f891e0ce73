"""Exact money helpers.

Amounts are ``Decimal`` in Python, integer minor units in the database and decimal strings in
JSON. Nothing here ever rounds silently: an amount with more precision than its currency allows
is an error, because a rounded payment is a wrong payment.
"""

import re
from decimal import Decimal, InvalidOperation

# Every supported currency has two decimal places, which lets the database store all amounts as
# integer minor units with one fixed exponent. Adding a zero-decimal currency (JPY) would mean
# storing the exponent per row; until then it is refused at the edge.
MINOR_UNIT_EXPONENT = 2
SUPPORTED_CURRENCIES: frozenset[str] = frozenset({"USD", "EUR", "GBP"})
_QUANTUM = Decimal(1).scaleb(-MINOR_UNIT_EXPONENT)
_DECIMAL_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")  # ASCII digits only


class MoneyError(ValueError):
    """An amount or currency that cannot be represented exactly."""


def normalize_currency(code: str) -> str:
    """Return the ISO 4217 code in upper case, or raise for a currency we do not support."""
    normalized = code.strip().upper()
    if normalized not in SUPPORTED_CURRENCIES:
        supported = ", ".join(sorted(SUPPORTED_CURRENCIES))
        raise MoneyError(f"Unsupported currency {code!r}; supported: {supported}.")
    return normalized


def quantize(amount: Decimal) -> Decimal:
    """Return ``amount`` with exactly two decimal places, refusing anything that would round."""
    if not isinstance(amount, Decimal):
        raise MoneyError(f"Amounts must be Decimal, not {type(amount).__name__}.")
    if not amount.is_finite():
        raise MoneyError(f"Amount {amount} is not a finite decimal.")
    try:
        quantized = amount.quantize(_QUANTUM)
    except InvalidOperation as error:
        raise MoneyError(f"Amount {amount} is not a finite decimal.") from error
    if quantized != amount:
        raise MoneyError(f"Amount {amount} has more than {MINOR_UNIT_EXPONENT} decimal places.")
    return quantized


def to_minor_units(amount: Decimal) -> int:
    """Convert a major-unit amount (``Decimal('49.00')``) to minor units (``4900``), exactly."""
    return int(quantize(amount).scaleb(MINOR_UNIT_EXPONENT))


def from_minor_units(units: int) -> Decimal:
    """Convert minor units (``4900``) to a two-place ``Decimal`` (``Decimal('49.00')``)."""
    if not isinstance(units, int) or isinstance(units, bool):
        raise MoneyError(f"Minor units must be an int, not {type(units).__name__}.")
    return Decimal(units).scaleb(-MINOR_UNIT_EXPONENT).quantize(_QUANTUM)


def format_amount(amount: Decimal) -> str:
    """Render an amount as the decimal string the API speaks (``"49.00"``)."""
    return str(quantize(amount))


def parse_amount(value: str | int | Decimal) -> Decimal:
    """Parse "49.00", 49 or Decimal("49.00") into an exact two-place amount.

    Floats, booleans and anything but plain digits with an optional fraction are refused.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise MoneyError(f"Amounts must be decimal strings, ints or Decimals, not {value!r}.")
    if isinstance(value, str) and not _DECIMAL_TEXT.fullmatch(value.strip()):
        raise MoneyError(f"{value!r} is not a decimal amount.")
    try:
        return quantize(Decimal(value.strip() if isinstance(value, str) else value))
    except InvalidOperation as error:
        raise MoneyError(f"{value!r} is not a decimal amount.") from error
