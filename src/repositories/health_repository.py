"""The database round trip behind GET /health."""

from sqlalchemy import text

from src.repositories.base import SessionProxy


class HealthRepository:
    def __init__(self, session: SessionProxy) -> None:
        self._session = session

    def ping(self) -> None:
        """Run ``SELECT 1``; raises ``OperationalError`` when the database is unreachable."""
        self._session.execute(text("SELECT 1"))
        self._session.rollback()
