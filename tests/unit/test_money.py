"""Exact money helpers: two places, supported currencies, no rounding and no floats."""

from decimal import Decimal
from typing import Any

import pytest

from src.money import (
    MoneyError,
    format_amount,
    from_minor_units,
    normalize_currency,
    parse_amount,
    quantize,
    to_minor_units,
)

NOT_FINITE = ["NaN", "-NaN", "sNaN", "Infinity", "-Infinity", "inf"]


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("49", "49.00"), ("49.5", "49.50"), ("49.00", "49.00"), ("0", "0.00"), ("-3.1", "-3.10")],
)
def test_quantize_pads_to_two_places(amount: str, expected: str) -> None:
    result = quantize(Decimal(amount))

    assert result == Decimal(expected)
    assert str(result) == expected


@pytest.mark.parametrize("amount", ["49.001", "0.005", "1.999", "-0.001"])
def test_quantize_refuses_amounts_that_would_round(amount: str) -> None:
    with pytest.raises(MoneyError, match="more than 2 decimal places"):
        quantize(Decimal(amount))


def test_quantize_accepts_trailing_zeros_beyond_two_places() -> None:
    assert str(quantize(Decimal("49.000"))) == "49.00"


@pytest.mark.parametrize("amount", NOT_FINITE)
def test_quantize_refuses_non_finite_amounts(amount: str) -> None:
    with pytest.raises(MoneyError):
        quantize(Decimal(amount))


@pytest.mark.parametrize(
    ("amount", "units"),
    [("49.00", 4900), ("0.01", 1), ("0", 0), ("1234567.89", 123456789), ("-2.50", -250)],
)
def test_to_minor_units_is_exact(amount: str, units: int) -> None:
    result = to_minor_units(Decimal(amount))

    assert result == units
    assert type(result) is int


def test_to_minor_units_refuses_sub_cent_amounts() -> None:
    with pytest.raises(MoneyError):
        to_minor_units(Decimal("0.001"))


@pytest.mark.parametrize(("units", "amount"), [(4900, "49.00"), (1, "0.01"), (0, "0.00")])
def test_from_minor_units_gives_two_place_decimals(units: int, amount: str) -> None:
    result = from_minor_units(units)

    assert isinstance(result, Decimal)
    assert str(result) == amount


@pytest.mark.parametrize("units", [0, 1, 99, 4900, 123456789, 9_223_372_036_854_775_807])
def test_minor_units_round_trip(units: int) -> None:
    assert to_minor_units(from_minor_units(units)) == units


@pytest.mark.parametrize(
    ("amount", "text"), [("49", "49.00"), ("0.1", "0.10"), ("1000000", "1000000.00")]
)
def test_format_amount_renders_two_place_strings(amount: str, text: str) -> None:
    assert format_amount(Decimal(amount)) == text


def test_format_amount_never_uses_exponent_notation() -> None:
    assert format_amount(Decimal("1E+3")) == "1000.00"


def test_format_amount_refuses_three_decimals() -> None:
    with pytest.raises(MoneyError):
        format_amount(Decimal("1.234"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [("49.00", "49.00"), ("49", "49.00"), ("0.5", "0.50"), (49, "49.00"), (Decimal("7.1"), "7.10")],
)
def test_parse_amount_accepts_strings_ints_and_decimals(
    value: str | int | Decimal, expected: str
) -> None:
    result = parse_amount(value)

    assert isinstance(result, Decimal)
    assert str(result) == expected


@pytest.mark.parametrize("value", ["49.001", "0.125"])
def test_parse_amount_refuses_three_decimals(value: str) -> None:
    with pytest.raises(MoneyError, match="more than 2 decimal places"):
        parse_amount(value)


@pytest.mark.parametrize("value", NOT_FINITE)
def test_parse_amount_refuses_nan_and_infinity(value: str) -> None:
    with pytest.raises(MoneyError):
        parse_amount(value)


@pytest.mark.parametrize("value", ["", "abc", "12,50", "4 9", "$49"])
def test_parse_amount_refuses_text_that_is_not_a_number(value: str) -> None:
    with pytest.raises(MoneyError, match="is not a decimal amount"):
        parse_amount(value)


@pytest.mark.parametrize("value", [0.1, 49.0, float("nan"), float("inf")])
def test_parse_amount_refuses_floats(value: float) -> None:
    untyped: Any = value

    with pytest.raises(MoneyError, match="Amounts must be decimal strings"):
        parse_amount(untyped)


@pytest.mark.parametrize("value", [True, False, "1_000", "1e3", " ", "12.3.4"])
def test_parse_amount_refuses_booleans_and_unusual_spellings(value: Any) -> None:
    with pytest.raises(MoneyError):
        parse_amount(value)


@pytest.mark.parametrize("units", [49.5, True, "4900"])
def test_from_minor_units_needs_an_int(units: Any) -> None:
    with pytest.raises(MoneyError):
        from_minor_units(units)


def test_nan_is_refused_as_not_finite() -> None:
    with pytest.raises(MoneyError, match="not a finite decimal"):
        quantize(Decimal("NaN"))


@pytest.mark.parametrize("helper", [quantize, to_minor_units, format_amount])
def test_amount_helpers_never_accept_a_float(helper: Any) -> None:
    with pytest.raises(MoneyError):
        helper(0.5)


def test_money_error_is_a_value_error() -> None:
    assert issubclass(MoneyError, ValueError)


@pytest.mark.parametrize(("code", "expected"), [("USD", "USD"), ("eur", "EUR"), (" gbp ", "GBP")])
def test_normalize_currency_upper_cases_supported_codes(code: str, expected: str) -> None:
    assert normalize_currency(code) == expected


@pytest.mark.parametrize("code", ["JPY", "usdd", "", "US", "BTC"])
def test_normalize_currency_refuses_unsupported_codes(code: str) -> None:
    with pytest.raises(MoneyError, match="Unsupported currency"):
        normalize_currency(code)
