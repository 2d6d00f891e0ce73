"""API keys, looked up by their public prefix (always from the database: no cache, so a
revocation holds at once on every worker)."""

import uuid
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from src.models.api_key import ApiKey
from src.repositories.base import SessionProxy

LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiKeyRepository:
    def __init__(self, session: SessionProxy) -> None:
        self._session = session

    def add(self, key: ApiKey) -> ApiKey:
        self._session.add(key)
        self._session.flush()
        return key

    def get(self, key_id: uuid.UUID) -> ApiKey | None:
        return self._session.get(ApiKey, key_id)

    def find_by_prefix(self, prefix: str) -> ApiKey | None:
        return self._session.scalar(
            select(ApiKey).where(ApiKey.prefix == prefix).execution_options(populate_existing=True)
        )

    def list_all(self) -> list[ApiKey]:
        return list(self._session.scalars(select(ApiKey).order_by(ApiKey.created_at)))

    def touch(self, key_id: uuid.UUID, now: datetime) -> bool:
        """Record a use at most once a minute per key: one conditional UPDATE, no write when
        the last recorded use is recent (True when this call wrote)."""
        result = self._session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == key_id,
                or_(
                    ApiKey.last_used_at.is_(None),
                    ApiKey.last_used_at < now - LAST_USED_RESOLUTION,
                ),
            )
            .values(last_used_at=now)
            .returning(ApiKey.id)
            .execution_options(synchronize_session=False)
        )
        return result.first() is not None
