"""Which failures a job retries: transient ones, with growing waits; never a domain refusal."""

import pytest
from procrastinate.jobs import Job
from sqlalchemy.exc import OperationalError

from src.errors import InvalidState, NotFound, ProviderError
from src.jobs.tasks import RETRY


def job(attempts: int) -> Job:
    return Job(
        id=1, queue="provider", lock=None, queueing_lock=None, task_name="t", attempts=attempts
    )


@pytest.mark.parametrize("error", [NotFound("user"), InvalidState("no")])
def test_a_domain_refusal_fails_the_job_at_once(error: Exception) -> None:
    assert RETRY.get_retry_decision(exception=error, job=job(1)) is None


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("SELECT 1", {}, Exception("lock timeout")),
        ProviderError("down"),
        KeyError(),
    ],
)
def test_transient_failures_are_retried_with_growing_waits(error: Exception) -> None:
    first = RETRY.get_retry_decision(exception=error, job=job(1))
    third = RETRY.get_retry_decision(exception=error, job=job(3))

    assert first is not None and third is not None
    assert first.retry_at is not None and third.retry_at is not None
    assert third.retry_at > first.retry_at


def test_the_fifth_run_is_the_last() -> None:
    """``attempts`` counts the runs before the one that just failed."""
    error = ProviderError("down")
    assert RETRY.get_retry_decision(exception=error, job=job(3)) is not None
    assert RETRY.get_retry_decision(exception=error, job=job(4)) is None
