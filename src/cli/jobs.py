"""flask worker, flask jobs list, flask jobs retry"""

import sys

import click
from flask import current_app
from flask.cli import AppGroup
from procrastinate.jobs import Job

from src.clock import utc_now
from src.extensions import db
from src.jobs.operations import JobOperations
from src.jobs.tasks import STALLED_AFTER_SECONDS
from src.jobs.worker import run_worker

group = AppGroup("jobs", help="Background jobs (the procrastinate engine).")
STATUSES = ("todo", "doing", "succeeded", "failed", "cancelled", "aborted")


def _status(job: Job) -> str:
    """The job's status name (the manager hands it back as a string or an enum member)."""
    return str(getattr(job.status, "value", job.status))


def _operations() -> JobOperations:
    container = current_app.container  # type: ignore[attr-defined]
    return JobOperations(container.jobs.job_app(), db.engine)


@click.command("worker")
@click.option("--concurrency", type=click.IntRange(1, 64), default=1, help="Jobs run at once.")
@click.option("--queue", "queues", multiple=True, help="Serve only these queues (default: all).")
def worker(concurrency: int, queues: tuple[str, ...]) -> None:
    """Run jobs (periodic ones included) until SIGTERM or Ctrl-C; the running job finishes."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    click.echo(f"worker: concurrency {concurrency}, queues {', '.join(queues) or 'all'}")
    run_worker(app, concurrency=concurrency, queues=list(queues) or None)


@group.command("list")
@click.option("--status", type=click.Choice(STATUSES), default=None)
@click.option("--task", default=None, help="Only this task (e.g. auto_reload.charge).")
def list_jobs(status: str | None, task: str | None) -> None:
    """Jobs, newest first: id, status, task, attempts, queue, scheduled time, arguments."""
    jobs = sorted(_operations().list_jobs(status=status, task=task), key=lambda j: -(j.id or 0))
    for job in jobs:
        status_name = _status(job)
        scheduled = job.scheduled_at.isoformat() if job.scheduled_at else "-"
        click.echo(
            f"{job.id}\t{status_name}\t{job.task_name}\tattempts={job.attempts}\t"
            f"{job.queue}\t{scheduled}\t{job.task_kwargs}"
        )
    click.echo(f"{len(jobs)} job(s)", err=True)


@group.command("retry")
@click.argument("job_id", type=int)
def retry(job_id: int) -> None:
    """Run a failed or cancelled job again, now (a fresh round of attempts)."""
    operations = _operations()
    job = operations.get(job_id)
    if job is None:
        click.echo(f"no job {job_id}", err=True)
        sys.exit(1)
    if _status(job) not in ("failed", "cancelled", "aborted"):
        click.echo(f"job {job_id} is {_status(job)}: only a finished, unsuccessful job is retried")
        sys.exit(1)
    operations.retry(job_id, utc_now())
    click.echo(f"job {job_id} ({job.task_name}) queued again")


@group.command("retry-stalled")
@click.option(
    "--after",
    "after_seconds",
    type=click.FloatRange(min=1),
    default=STALLED_AFTER_SECONDS,
    show_default=True,
    help="Seconds without a heartbeat after which a worker is presumed dead.",
)
def retry_stalled(after_seconds: float) -> None:
    """Requeue the jobs of dead workers now (the worker also does it every minute)."""
    stalled = _operations().retry_stalled(after_seconds)
    for job in stalled:
        click.echo(f"{job.id}\t{job.task_name}\tqueued again")
    click.echo(f"{len(stalled)} stalled job(s) retried", err=True)
