"""The unit of work the dispatcher opens per command (no database: it only keeps a log)."""


class FakeUnitOfWork:
    """One object for every transaction; ``log`` reads e.g. ``["begin", "commit"]``."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.fail_commit: Exception | None = None
        self._committed = False

    @property
    def commits(self) -> int:
        return self.log.count("commit")

    @property
    def rollbacks(self) -> int:
        return self.log.count("rollback")

    def __enter__(self) -> "FakeUnitOfWork":
        self._committed = False
        self.log.append("begin")
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self._committed:
            self.log.append("rollback")

    def commit(self) -> None:
        if self.fail_commit is not None:
            raise self.fail_commit
        self._committed = True
        self.log.append("commit")

    def factory(self) -> "FakeUnitOfWork":
        """What the dispatcher calls per transaction (the container's provider in the app)."""
        return self
