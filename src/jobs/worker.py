"""Running jobs: the long-lived worker (``flask worker``) and a run-until-empty pass (tests).

Many workers on many hosts may share one database: procrastinate hands each job to one
worker (``FOR UPDATE SKIP LOCKED``), defers each periodic tick once across all of them, and
workers send heartbeats so that the jobs of a dead one are retried (``jobs.retry_stalled``).
SIGTERM or Ctrl-C stops fetching, lets the running jobs finish (up to
``shutdown_graceful_timeout``) and then exits; a job cut short is retried by the engine.
"""

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    from src.app import BillingApp

# Seconds a stopping worker waits for its running jobs before it cancels them.
SHUTDOWN_GRACEFUL_TIMEOUT = 20.0


def run_worker(
    flask_app: "BillingApp",
    *,
    concurrency: int = 1,
    wait: bool = True,
    queues: list[str] | None = None,
    install_signal_handlers: bool = True,
) -> None:
    """Run jobs until stopped (``wait=True``) or until none is left to run (``wait=False``)."""
    asyncio.run(
        _run(
            flask_app,
            concurrency=concurrency,
            wait=wait,
            queues=queues,
            install_signal_handlers=install_signal_handlers,
        )
    )


async def _run(flask_app: "BillingApp", **options: Any) -> None:
    app = flask_app.container.jobs.job_app()
    async with app.open_async():
        await app.run_worker_async(
            additional_context={"flask_app": flask_app},
            shutdown_graceful_timeout=SHUTDOWN_GRACEFUL_TIMEOUT,
            **options,
        )
