"""What a flush and the database's constraints would do to a transient model, imitated."""

import uuid
from typing import Any

from src.clock import utc_now


class CheckViolation(Exception):
    """A CHECK or FOREIGN KEY constraint would refuse this row (no passing test should ever
    see it)."""


def apply_defaults(row: Any, **defaults: Any) -> None:
    """Do what a flush would: fill ``id``, timestamps and the given defaults where unset."""
    now = utc_now()
    for name, value in {"id": uuid.uuid4(), "created_at": now, "updated_at": now}.items():
        if hasattr(type(row), name) and getattr(row, name) is None:
            setattr(row, name, value)
    for name, value in defaults.items():
        if getattr(row, name) is None:
            setattr(row, name, value)
