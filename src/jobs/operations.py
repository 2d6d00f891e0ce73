"""What an operator does with jobs: list them, retry one. Through the engine's own manager."""

from datetime import datetime

import procrastinate
from procrastinate.contrib.sqlalchemy import SQLAlchemyPsycopg2Connector
from procrastinate.jobs import Job
from sqlalchemy import Engine


class JobOperations:
    """The engine's job manager on the app's own engine (sync, no worker needed)."""

    def __init__(self, job_app: procrastinate.App, engine: Engine) -> None:
        connector = SQLAlchemyPsycopg2Connector()
        connector.open(engine)
        self._manager = job_app.with_connector(connector).job_manager

    def list(self, status: str | None = None, task: str | None = None) -> list[Job]:
        return self._manager.list_jobs(status=status, task=task)

    def get(self, job_id: int) -> Job | None:
        found = self._manager.list_jobs(id=job_id)
        return found[0] if found else None

    def retry(self, job_id: int, at: datetime) -> None:
        """A failed (or cancelled) job goes back to ``todo``, to run at ``at``."""
        self._manager.retry_job_by_id(job_id, retry_at=at)
