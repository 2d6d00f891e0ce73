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


def encode_cursor(cursor: Cursor) -> str:
    raw = json.dumps([cursor.created_at.isoformat(), str(cursor.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str | None) -> Cursor | None:
    """Parse a client's cursor; anything we did not issue is a 400 ``invalid_cursor``."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        created_at_text, id_text = json.loads(raw)
        created_at = datetime.fromisoformat(created_at_text)
        if created_at.tzinfo is None:
            raise ValueError("naive cursor timestamp")
        return Cursor(created_at=created_at, id=uuid.UUID(id_text))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as error:
        raise ValidationFailed("The cursor is not valid.", code="invalid_cursor") from error
