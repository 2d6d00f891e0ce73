"""The keyset query behind every newest-first list."""

from typing import Any, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from src.pagination import Cursor, PageResult
from src.repositories.base import SessionProxy

RowT = TypeVar("RowT")


def newest_first_page(
    session: SessionProxy,
    query: Select[RowT],
    created_at: InstrumentedAttribute[Any],
    row_id: InstrumentedAttribute[Any],
    limit: int,
    after: Cursor | None,
) -> PageResult[RowT]:
    """Return ``limit`` rows older than ``after`` and the cursor of the next page, if any."""
    if after is not None:
        query = query.where(
            or_(
                created_at < after.created_at,
                and_(created_at == after.created_at, row_id < after.id),
            )
        )
    rows = list(session.scalars(query.order_by(created_at.desc(), row_id.desc()).limit(limit + 1)))
    if len(rows) <= limit:
        return PageResult(items=rows, next_cursor=None)
    last = rows[limit - 1]
    next_cursor = Cursor(created_at=getattr(last, created_at.key), id=getattr(last, row_id.key))
    return PageResult(items=rows[:limit], next_cursor=next_cursor)
