"""API keys, looked up by their public prefix."""

from sqlalchemy import select

from src.models.api_key import ApiKey
from src.repositories.base import SessionProxy


class ApiKeyRepository:
    def __init__(self, session: SessionProxy) -> None:
        self._session = session

    def add(self, key: ApiKey) -> ApiKey:
        self._session.add(key)
        self._session.flush()
        return key

    def find_by_prefix(self, prefix: str) -> ApiKey | None:
        return self._session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))

    def list_all(self) -> list[ApiKey]:
        return list(self._session.scalars(select(ApiKey).order_by(ApiKey.created_at)))
