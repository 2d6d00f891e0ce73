"""Savepoints in the command's transaction (the port ``SavepointPort``)."""

from contextlib import AbstractContextManager

from src.repositories.base import SessionProxy


class SessionSavepoints:
    """``savepoint()`` is the session's ``begin_nested()``: rows written inside are rolled
    back alone when it raises, and the command's transaction goes on."""

    def __init__(self, session: SessionProxy) -> None:
        self._session = session

    def savepoint(self) -> AbstractContextManager[object]:
        return self._session.begin_nested()
