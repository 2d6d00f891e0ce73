"""Savepoints, in memory: counted, not undone (the fakes keep no snapshots). What a savepoint
rolls back is proven against PostgreSQL (tests/integration/test_unapplied_payments.py)."""

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass


@dataclass
class FakeSavepoints:
    opened: int = 0
    rolled_back: int = 0

    def savepoint(self) -> AbstractContextManager[object]:
        return self._savepoint()

    @contextmanager
    def _savepoint(self) -> Iterator[object]:
        self.opened += 1
        try:
            yield self
        except BaseException:
            self.rolled_back += 1
            raise
