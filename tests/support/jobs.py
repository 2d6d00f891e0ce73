"""The job engine in tests: run every job that is due, for real, and read the jobs table."""

from typing import Any

from sqlalchemy import text

from src.app import BillingApp
from src.extensions import db
from src.jobs.worker import run_worker


def run_jobs(app: BillingApp, concurrency: int = 1) -> None:
    """A real worker pass (procrastinate's ``wait=False``): it runs what is due, then returns."""
    run_worker(app, concurrency=concurrency, wait=False, install_signal_handlers=False)


def jobs(app: BillingApp, task: str | None = None) -> list[dict[str, Any]]:
    """Every job, oldest first: id, task_name, status, args, attempts, scheduled_at."""
    query = (
        "SELECT id, task_name, status::text AS status, args, attempts, scheduled_at "
        "FROM procrastinate_jobs WHERE (CAST(:task AS text) IS NULL OR task_name = :task) "
        "ORDER BY id"
    )
    with app.app_context():
        rows = db.session.execute(text(query), {"task": task}).mappings().all()
        db.session.rollback()
    return [dict(row) for row in rows]


def make_due_now(app: BillingApp, job_id: int) -> None:
    """Move a retry's backoff to now: time passing, without waiting for it."""
    with app.app_context():
        db.session.execute(
            text("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE id = :id"),
            {"id": job_id},
        )
        db.session.commit()
