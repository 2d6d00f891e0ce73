"""The job queue, in memory: what a command deferred, with its queueing lock honoured."""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DeferredJob:
    task: str
    queueing_lock: str | None
    arguments: dict[str, Any]


@dataclass
class FakeJobQueue:
    jobs: list[DeferredJob] = field(default_factory=list)

    def enqueue(
        self, task: str, *, queueing_lock: str | None = None, **arguments: Any
    ) -> int | None:
        """Like procrastinate: a second job under a lock that is still waiting is refused."""
        if queueing_lock is not None and any(j.queueing_lock == queueing_lock for j in self.jobs):
            return None
        self.jobs.append(DeferredJob(task, queueing_lock, dict(arguments)))
        return len(self.jobs)
