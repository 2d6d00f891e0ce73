"""The one source of "now": timezone-aware UTC, so no naive timestamp ever reaches the database."""

from datetime import datetime, timezone


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime (never ``datetime.utcnow()``)."""
    return datetime.now(timezone.utc)
