"""Shared schema building blocks: strict requests, money as decimal strings, pages, errors."""

import uuid
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from src.money import format_amount

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

# Input money: a decimal string or a JSON number (parsed as Decimal, never float).
MoneyIn = Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2)]


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
