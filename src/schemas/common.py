"""Shared schema building blocks: strict requests, money as decimal strings, pages, errors."""

import re
import uuid
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StrictInt,
    WithJsonSchema,
)

from src.money import MINOR_UNIT_EXPONENT, format_amount

ItemT = TypeVar("ItemT")


class RequestModel(BaseModel):
    """Requests refuse unknown fields, so a typo is a 400, never a silently ignored value."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ResponseModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# Output money: always a two-place decimal string ("49.00"), documented as such.
MoneyOut = Annotated[
    Decimal,
    PlainSerializer(format_amount, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^\d+\.\d{2}$", "examples": ["49.00"]}),
]

# The largest value of a PostgreSQL ``integer`` column: every integer a request carries is
# bounded by it (or by something tighter) in its schema, so none reaches the database as a 500.
INT32_MAX = 2_147_483_647

# Strict JSON types for request bodies: ``true`` is not the integer 1 and ``"yes"`` is not
# true. (Bodies arrive as parsed JSON; query strings stay lax, they are text by nature, so
# the query models keep plain ``int``.) UUIDs and enums keep their lax parsing from strings,
# which is how JSON carries them.
# A JSON number with no fractional part (``2.0``, ``2e3``) is an integer in JSON Schema 2020-12,
# the dialect of our OpenAPI 3.1 document, so it is taken as one; ``2.5`` and strings are not.
_WHOLE_NUMBER_DIGITS = 18


def _whole_number(value: Any) -> Any:
    """The exact ``Decimal`` the strict parser made of ``2.0`` becomes ``2``; all else as is."""
    if (
        isinstance(value, Decimal)
        and value.is_finite()
        and value.adjusted() <= _WHOLE_NUMBER_DIGITS
        and value == value.to_integral_value()
    ):
        return int(value)
    return value


BodyInt = Annotated[StrictInt, BeforeValidator(_whole_number)]
BodyBool = StrictBool

# Canonical money text: ASCII digits, an optional fraction within the currency's exponent.
# No sign, no spaces, no underscores, no exponent, no other scripts' digits (Python's
# ``Decimal`` accepts all of those, which let "1_0" mean 10.00).
MONEY_PATTERN = rf"^[0-9]+(\.[0-9]{{1,{MINOR_UNIT_EXPONENT}}})?$"
_MONEY_TEXT = re.compile(MONEY_PATTERN)


def _canonical_money(value: Any) -> Decimal:
    """Money in a request: a canonical decimal string, or an exact JSON number.

    A JSON number arrives as ``int`` or as the ``Decimal`` the strict parser made of its
    text, so ``0.30`` is exactly 0.30 and ``49.000000000000001`` keeps its 15 places and is
    refused; both are held to the same canonical text as strings. Floats and booleans never
    pass.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ValueError('an amount must be a decimal string such as "49.00"')
    text = value if isinstance(value, str) else str(value)
    if not _MONEY_TEXT.fullmatch(text):
        raise ValueError(
            f"an amount must be plain digits with at most {MINOR_UNIT_EXPONENT} decimal places"
        )
    return Decimal(text)


MONEY_IN_MAX_DIGITS = 14
_WHOLE_DIGITS = MONEY_IN_MAX_DIGITS - MINOR_UNIT_EXPONENT
_NONZERO_FRACTIONS = "|".join(
    f"0{{{zeros}}}[1-9][0-9]{{0,{MINOR_UNIT_EXPONENT - zeros - 1}}}"
    for zeros in range(MINOR_UNIT_EXPONENT)
)
# What MoneyIn takes, exactly, for the document: the canonical text, above zero (``gt=0``),
# at most 12 whole digits (``max_digits`` less the exponent); leading zeros do not count.
MONEY_IN_PATTERN = (
    rf"^0*([1-9][0-9]{{0,{_WHOLE_DIGITS - 1}}}(\.[0-9]{{1,{MINOR_UNIT_EXPONENT}}})?"
    rf"|0\.({_NONZERO_FRACTIONS}))$"
)

MoneyIn = Annotated[
    Decimal,
    BeforeValidator(_canonical_money),
    Field(gt=0, max_digits=MONEY_IN_MAX_DIGITS, decimal_places=MINOR_UNIT_EXPONENT),
    WithJsonSchema({"type": "string", "pattern": MONEY_IN_PATTERN, "examples": ["49.00"]}),
]


class ErrorBody(BaseModel):
    code: str = Field(examples=["validation_failed"])
    message: str
    details: Any | None = None


class ErrorResponse(BaseModel):
    """The one error shape of the whole API."""

    error: ErrorBody


def _cursor_schema(kind: str) -> WithJsonSchema:
    """A cursor is opaque: the document names its kind as a ``format`` (which a client can
    only copy from ``next_cursor``); anything else is a 400 ``invalid_cursor``."""
    return WithJsonSchema(
        {
            "type": "string",
            "format": kind,
            "maxLength": 200,
            "description": "The next_cursor of the previous page; any other value is a 400.",
        }
    )


# Keyset cursors (created_at, id) of invoice and payment lists; ledger cursors (a sequence).
KeysetCursor = Annotated[str | None, Field(max_length=200), _cursor_schema("cursor")]
LedgerCursor = Annotated[str | None, Field(max_length=200), _cursor_schema("ledger-cursor")]


class PageQuery(RequestModel):
    """Keyset pagination: ``cursor`` is the opaque ``next_cursor`` of the previous page."""

    limit: int = Field(default=20, ge=1, le=100)
    cursor: KeysetCursor = None


class LedgerPageQuery(PageQuery):
    """A page of a ledger: its cursor is a position in the ledger's sequence."""

    cursor: LedgerCursor = None


class Page(ResponseModel, Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None = None


class ItemList(ResponseModel, Generic[ItemT]):
    items: list[ItemT]


class IdPath(RequestModel):
    id: uuid.UUID
