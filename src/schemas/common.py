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
BodyInt = StrictInt
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


MoneyIn = Annotated[
    Decimal,
    BeforeValidator(_canonical_money),
    Field(gt=0, max_digits=14, decimal_places=MINOR_UNIT_EXPONENT),
    WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN, "examples": ["49.00"]}),
]


class ErrorBody(BaseModel):
    code: str = Field(examples=["validation_failed"])
    message: str
    details: Any | None = None


class ErrorResponse(BaseModel):
    """The one error shape of the whole API."""

    error: ErrorBody


class PageQuery(RequestModel):
    """Keyset pagination: ``cursor`` is the opaque ``next_cursor`` of the previous page."""

    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=200)


class Page(ResponseModel, Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None = None


class ItemList(ResponseModel, Generic[ItemT]):
    items: list[ItemT]


class IdPath(RequestModel):
    id: uuid.UUID
