"""Opaque keyset cursors: a page ends at (created_at, id); the next starts strictly after it.

Keyset pagination stays correct while rows are being inserted (offsets would skip or repeat
rows) and costs one index range scan per page however deep the client goes.
"""

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from src.errors import ValidationFailed

ItemT = TypeVar("ItemT")


@dataclass(frozen=True)
class Cursor:
    created_at: datetime
    id: uuid.UUID


@dataclass(frozen=True)
class PageResult(Generic[ItemT]):
    items: list[ItemT]
    next_cursor: Cursor | None


@dataclass(frozen=True)
class SequenceCursor:
    """Position in a per-user ledger, which is ordered by its own gap-free sequence."""

    sequence: int


def encode_sequence_cursor(cursor: SequenceCursor) -> str:
    return _encode(["seq", cursor.sequence])


def decode_sequence_cursor(token: str | None) -> SequenceCursor | None:
    if not token:
        return None
    try:
        kind, sequence = _decode(token)
        if kind != "seq" or not isinstance(sequence, int) or sequence < 1:
            raise ValueError("not a ledger cursor")
        return SequenceCursor(sequence=sequence)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as error:
        raise _invalid() from error


def _encode(values: list[object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _decode(token: str) -> list[object]:
    values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    if not isinstance(values, list):
        raise ValueError("not a cursor")
    return values


def _invalid() -> ValidationFailed:
    return ValidationFailed("The cursor is not valid.", code="invalid_cursor")


def encode_cursor(cursor: Cursor) -> str:
    return _encode([cursor.created_at.isoformat(), str(cursor.id)])


def decode_cursor(token: str | None) -> Cursor | None:
    """Parse a client's cursor; anything we did not issue is a 400 ``invalid_cursor``."""
    if not token:
        return None
    try:
        created_at_text, id_text = _decode(token)
        created_at = datetime.fromisoformat(str(created_at_text))
        if created_at.tzinfo is None:
            raise ValueError("naive cursor timestamp")
        return Cursor(created_at=created_at, id=uuid.UUID(str(id_text)))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as error:
        raise _invalid() from error
