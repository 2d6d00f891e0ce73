"""The transaction boundary: one per command, committed once, rolled back on any exception."""

from types import TracebackType

from sqlalchemy.orm import Session, scoped_session


class SqlAlchemyUnitOfWork:
    """Wraps the request's session. Repositories only flush; this is the only ``commit()``."""

    def __init__(self, session: scoped_session[Session]) -> None:
        self._session = session
        self._committed = False

    def __enter__(self) -> "SqlAlchemyUnitOfWork":
        self._committed = False
        return self

    def commit(self) -> None:
        """Commit, unless the command never used the session: the one-statement consume
        commits on its own connection, and making a session only to commit nothing cost
        7 % of its instructions (bench/README.md)."""
        if self._session.registry.has():
            self._session.commit()
        self._committed = True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if not self._committed and self._session.registry.has():
            self._session.rollback()
