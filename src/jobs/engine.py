"""The job engine's two faces: deferring inside a command, and the worker that runs jobs.

Deferring happens on the command's own connection: ``JobQueue.enqueue`` inserts the job row
(procrastinate's ``procrastinate_defer_jobs_v1``) through the SQLAlchemy connection of the
unit of work that is open, inside a savepoint. The job therefore commits with the command's
rows or rolls back with them: exactly once, or not at all. PostgreSQL delivers the engine's
NOTIFY only at commit, so a worker never sees a job whose command has not committed. No
outbox table and no relay are needed for that guarantee.

The worker side needs an asynchronous connector (procrastinate 3 runs its worker on asyncio),
so the engine's app talks psycopg 3 to the same database; deferring, the CLI and the app
itself stay on psycopg2, through procrastinate's SQLAlchemy connector.
"""

import uuid
from collections.abc import Mapping
from typing import Any

import procrastinate
from procrastinate.contrib.sqlalchemy import SQLAlchemyPsycopg2Connector
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.manager import JobManager

from src.jobs.tasks import build_blueprint
from src.repositories.base import SessionProxy

ENGINE_OBJECT_PREFIX = "procrastinate"


def is_model_object(name: str | None, type_: str, parent_names: Mapping[str, Any]) -> bool:
    """Alembic's ``include_name``: the engine's own tables are not described by our models."""
    return not (type_ == "table" and (name or "").startswith(ENGINE_OBJECT_PREFIX))


def build_job_app(sqlalchemy_url: str) -> procrastinate.App:
    """The engine's app: the tasks, and the asynchronous psycopg 3 connector the worker opens
    (nothing connects until a worker calls ``open_async``)."""
    conninfo = sqlalchemy_url.replace("postgresql+psycopg2://", "postgresql://", 1)
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo))
    app.add_tasks_from(build_blueprint(), namespace="")
    return app


def in_transaction_job_manager() -> JobManager:
    """A job manager whose connector only ever runs on a connection it is handed."""
    return JobManager(SQLAlchemyPsycopg2Connector())


class JobQueue:
    """Defers jobs in the caller's transaction (the port services and handlers depend on)."""

    def __init__(
        self, job_app: procrastinate.App, job_manager: JobManager, session: SessionProxy
    ) -> None:
        self._app = job_app
        self._manager = job_manager
        self._session = session

    def enqueue(
        self, task: str, *, queueing_lock: str | None = None, **arguments: Any
    ) -> int | None:
        """Defer ``task`` with JSON ``arguments``; ``None`` when ``queueing_lock`` already
        has a job waiting (the one waiting will do the same work)."""
        job = (
            self._app.tasks[task]
            .configure(queueing_lock=queueing_lock)
            .make_new_job(**_json_arguments(arguments))
        )
        try:
            with self._session.begin_nested():
                deferred = self._manager.defer_job(job, connection=self._session.connection())
        except AlreadyEnqueued:
            return None
        assert deferred.id is not None
        return deferred.id


def _json_arguments(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """UUIDs travel as strings; everything else must already be JSON."""
    return {
        key: str(value) if isinstance(value, uuid.UUID) else value
        for key, value in arguments.items()
    }
