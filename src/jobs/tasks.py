"""The tasks. ``build_blueprint`` registers them on a fresh procrastinate Blueprint for each
engine app (nothing is built or opened at import; no task object is shared between apps).

Every task is a few lines: it finds the Flask app the worker runs for (passed in the job
context), opens an app context (its own session), builds one command and emits it. Retries
are the engine's: exponential backoff (2, 4, 8, 16 s) and then the job is ``failed``, where
``flask jobs list --status failed`` shows it and ``flask jobs retry <id>`` runs it again.
"""

import logging
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import procrastinate
from procrastinate import JobContext

from src.errors import ApiError
from src.events.base import Command
from src.jobs.names import (
    AUTO_RELOAD_TASK,
    PROVIDER_QUEUE,
    REFUND_TASK,
    REFUND_UNAPPLIED_TASK,
    REMOVE_OLD_JOBS_TASK,
    RETRY_STALLED_TASK,
    SCHEDULED_QUEUE,
)
from src.jobs.schedule import SCHEDULE, DueWork

if TYPE_CHECKING:  # pragma: no cover - typing only: the app module imports the container
    from src.app import BillingApp

logger = logging.getLogger(__name__)


class TransientFailureRetry(procrastinate.RetryStrategy):
    """Retry what may succeed later (a timeout, a lock, a provider outage, a bug being fixed);
    a domain refusal (an ``ApiError`` below 500: not found, invalid state) will not change on
    a retry, so the job fails at once and waits for an operator."""

    def get_retry_decision(
        self, *, exception: BaseException, job: procrastinate.jobs.Job
    ) -> procrastinate.retry.RetryDecision | None:
        if isinstance(exception, ApiError) and exception.status_code < 500:
            return None
        return super().get_retry_decision(exception=exception, job=job)


# Five runs at most, waiting 2, 4, 8 and 16 seconds between them.
# (procrastinate counts retries: 4 retries after the first run make five runs in all.)
RETRY = TransientFailureRetry(max_attempts=4, exponential_wait=2)
# A worker that sent no heartbeat for this long is presumed dead (killed, host lost): its jobs
# are handed to the living. procrastinate's heartbeat interval is 10 s.
STALLED_AFTER_SECONDS = 60


def flask_app(context: JobContext) -> "BillingApp":
    """The app the worker was started for (``additional_context``, see jobs.worker)."""
    additional = context.additional_context or {}
    app: "BillingApp" = additional["flask_app"]
    return app


def emit(context: JobContext, command: Command[Any]) -> Any:
    """One command, through the app's dispatcher, in an app context of its own."""
    app = flask_app(context)
    with app.app_context():
        return app.container.dispatcher().emit(command).data


def charge_auto_reload(context: JobContext, user_id: str) -> None:
    """A consume left the balance under the user's threshold: buy their reload bundle (the
    provider intent's three steps; a retry of this job converges on the same payment)."""
    app = flask_app(context)
    with app.app_context():
        app.container.auto_reload_process().run(uuid.UUID(user_id))


def execute_refund(context: JobContext, refund_id: str) -> None:
    """A refund the provider did not answer: ask again (looked for at the provider first, so
    a retry never refunds twice); a provider still unreachable raises, and the engine retries."""
    app = flask_app(context)
    with app.app_context():
        app.container.refund_process().resolve(uuid.UUID(refund_id))


def refund_unapplied(context: JobContext, payment_id: str) -> None:
    """Money the invoice could not take (``requires_refund``): refund it in full through its
    provider (the refund's intent first; a retry resumes the same refund)."""
    app = flask_app(context)
    with app.app_context():
        app.container.refund_process().refund_unapplied(uuid.UUID(payment_id))


def periodic_command(work: DueWork) -> Any:
    """The task of one row of the schedule: its work, as of the tick's timestamp."""

    def run(context: JobContext, timestamp: int) -> None:
        app = flask_app(context)
        as_of = datetime.fromtimestamp(timestamp, timezone.utc)
        with app.app_context():
            result = work.run(app.container, as_of)
        logger.info("%s as of %s: %s", work.name, as_of.isoformat(), result)

    run.__name__ = run.__qualname__ = work.name.replace(".", "_")
    return run


async def retry_stalled_jobs(context: JobContext, timestamp: int) -> None:
    """Jobs held by a worker that died (kill -9, lost host) go back to the queue to run again."""
    manager = context.app.job_manager
    stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER_SECONDS)
    for job in stalled:
        assert job.id is not None
        logger.warning("job %s (%s) stalled on a dead worker: retrying it", job.id, job.task_name)
        await manager.retry_job(job)


async def remove_old_jobs(context: JobContext, timestamp: int) -> None:
    """The engine's own retention: finished jobs older than 30 days (failed ones are kept)."""
    await context.app.job_manager.delete_old_jobs(
        nb_hours=30 * 24, include_failed=False, include_cancelled=True
    )


def build_blueprint() -> procrastinate.Blueprint:
    """Every task, with its queue, retry policy and (for periodic ones) its cron schedule."""
    blueprint = procrastinate.Blueprint()
    blueprint.task(name=AUTO_RELOAD_TASK, pass_context=True, retry=RETRY, queue=PROVIDER_QUEUE)(
        charge_auto_reload
    )
    blueprint.task(name=REFUND_TASK, pass_context=True, retry=RETRY, queue=PROVIDER_QUEUE)(
        execute_refund
    )
    blueprint.task(
        name=REFUND_UNAPPLIED_TASK, pass_context=True, retry=RETRY, queue=PROVIDER_QUEUE
    )(refund_unapplied)
    for work in SCHEDULE:
        task = blueprint.task(
            name=work.name, pass_context=True, retry=RETRY, queue=SCHEDULED_QUEUE
        )(periodic_command(work))
        blueprint.periodic(cron=work.cron)(task)
    for name, cron, function in (
        (RETRY_STALLED_TASK, "* * * * *", retry_stalled_jobs),
        (REMOVE_OLD_JOBS_TASK, "43 3 * * *", remove_old_jobs),
    ):
        task = blueprint.task(name=name, pass_context=True, queue=SCHEDULED_QUEUE)(function)
        blueprint.periodic(cron=cron)(task)
    return blueprint
