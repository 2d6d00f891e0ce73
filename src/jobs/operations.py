"""What an operator does with jobs: list them, retry one. Through the engine's own manager."""

import asyncio
from datetime import datetime

import procrastinate
from procrastinate.contrib.sqlalchemy import SQLAlchemyPsycopg2Connector
from procrastinate.jobs import Job
from procrastinate.manager import JobManager
from sqlalchemy import Engine


class JobOperations:
    """The engine's job manager on the app's own engine (sync, no worker needed)."""

    def __init__(self, job_app: procrastinate.App, engine: Engine) -> None:
        connector = SQLAlchemyPsycopg2Connector()
        connector.open(engine)
        self._manager = JobManager(connector)
        self._job_app = job_app

    def list_jobs(self, status: str | None = None, task: str | None = None) -> list[Job]:
        return self._manager.list_jobs(status=status, task=task)

    def get(self, job_id: int) -> Job | None:
        found = self._manager.list_jobs(id=job_id)
        return found[0] if found else None

    def retry_stalled(self, after_seconds: float) -> list[Job]:
        """Jobs held by workers without a heartbeat for ``after_seconds`` go back to the
        queue (what the ``jobs.retry_stalled`` periodic task does every minute)."""
        return asyncio.run(_retry_stalled(self._job_app, after_seconds))

    def retry(self, job_id: int, at: datetime) -> None:
        """A failed (or cancelled) job goes back to ``todo``, to run at ``at``."""
        self._manager.retry_job_by_id(job_id, retry_at=at)


async def _retry_stalled(job_app: procrastinate.App, after_seconds: float) -> list[Job]:
    """The engine's stalled-job query needs its asynchronous connector (the worker's)."""
    async with job_app.open_async():
        manager = job_app.job_manager
        stalled = list(await manager.get_stalled_jobs(seconds_since_heartbeat=after_seconds))
        for job in stalled:
            await manager.retry_job(job)
        return stalled
