"""Exact money helpers.

Amounts are ``Decimal`` in Python, integer minor units in the database and decimal strings in
JSON. Nothing here ever rounds silently: an amount with more precision than its currency allows
is an error, because a rounded payment is a wrong payment.
"""

from decimal import Decimal, InvalidOperation

# Every supported currency has two decimal places, which lets the database store all amounts as
# integer minor units with one fixed exponent. Adding a zero-decimal currency (JPY) would mean
# storing the exponent per row; until then it is refused at the edge.
MINOR_UNIT_EXPONENT = 2
SUPPORTED_CURRENCIES: frozenset[str] = frozenset({"USD", "EUR", "GBP"})
_QUANTUM = Decimal(1).scaleb(-MINOR_UNIT_EXPONENT)


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
    return Decimal(units).scaleb(-MINOR_UNIT_EXPONENT).quantize(_QUANTUM)


def format_amount(amount: Decimal) -> str:
    """Render an amount as the decimal string the API speaks (``"49.00"``)."""
    return str(quantize(amount))


def parse_amount(value: str | int | Decimal) -> Decimal:
    """Parse a decimal string or integer into an exact two-place amount (floats are refused)."""
    if isinstance(value, float):  # pragma: no cover - guarded by the type, kept for safety
        raise MoneyError("Amounts must not be floats.")
    try:
        return quantize(Decimal(value))
    except InvalidOperation as error:
        raise MoneyError(f"{value!r} is not a decimal amount.") from error
