"""Run the same request from many real threads at once (each with its own test client)."""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier
from typing import Any, TypeVar

from flask.testing import FlaskClient

from src.app import BillingApp

ResultT = TypeVar("ResultT")


def run_concurrently(
    app: BillingApp, count: int, call: Callable[[FlaskClient, int], ResultT]
) -> list[ResultT]:
    """Start ``count`` threads, release them together at a barrier, return their results."""
    barrier = Barrier(count)

    def worker(index: int) -> Any:
        client = app.test_client()
        barrier.wait()
        return call(client, index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(worker, range(count)))
