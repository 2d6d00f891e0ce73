"""Reusable pieces of the load benchmarks.

- ``temporary_database``: a fresh PostgreSQL database, migrated and seeded, dropped at the end.
- ``serve_app``: gunicorn serving ``src.app:create_app()`` on a free loopback port.
- ``run_load``: a load driver in separate processes (asyncio + aiohttp, keep-alive), recording
  the latency of every request under an endpoint label.
- ``format_report``: per endpoint, requests, errors by status, requests/second and latencies.
- ``register_users`` / ``create_admin``: accounts, over the API (and the CLI for the admin).
- ``ledger_violations``: the token ledger invariant, checked in SQL.
- ``sample_sessions``: what the database's sessions do while a phase runs (lock waits, idle in
  transaction), sampled from ``pg_stat_activity``.

The benchmarks talk to the app only over HTTP and SQL: nothing here imports ``src``.
"""

import asyncio
import json
import math
import multiprocessing
import os
import platform
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import psycopg2
import requests

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"  # git-ignored: server logs of the runs
DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
API = "/api/v1"

# What the served app and the CLI steps get. APP_ENV=production: the app refuses to start
# without its secrets, so they are given explicitly. Argon2 is made cheap so that registration
# does not dominate; LOG_LEVEL stays at the production default (the audit log is real work).
APP_SETTINGS: dict[str, str] = {
    "APP_ENV": "production",
    "SECRET_KEY": "bench-secret-key-" + "x" * 16,
    "JWT_SECRET_KEY": "bench-jwt-secret-key-with-32-bytes!!",
    "PAYMENT_WEBHOOK_SECRET": "whsec_bench_generic_webhook_secret",
    "PASSWORD_HASH_TIME_COST": "1",
    "PASSWORD_HASH_MEMORY_KIB": "1024",
    "PASSWORD_HASH_PARALLELISM": "1",
    "LOG_LEVEL": "INFO",
}
WEBHOOK_SECRET = APP_SETTINGS["PAYMENT_WEBHOOK_SECRET"]


def machine_cores() -> int:
    """CPUs this process may run on (what the client, server and PostgreSQL share)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def machine_summary() -> str:
    return (
        f"{machine_cores()} cores ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def load_average() -> str:
    """The 1/5/15-minute load averages: other work on the machine skews every figure."""
    if not hasattr(os, "getloadavg"):
        return "unknown"
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


# --- the database ------------------------------------------------------------------------


def server_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL", DEFAULT_SERVER_URL)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _admin(url: str, statement: str) -> None:
    connection = psycopg2.connect(url, connect_timeout=5)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


def postgres_version(url: str) -> str:
    connection = psycopg2.connect(url, connect_timeout=5)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            row = cursor.fetchone()
            return str(row[0]) if row else "?"
    finally:
        connection.close()


def app_env(database_url: str, settings: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of every app process: ours, overridden by the benchmark's settings
    (``APP_SETTINGS``, then a benchmark's own ``settings``, e.g. ``{"TRIAL_CREDITS": "0"}``)."""
    return {**os.environ, **APP_SETTINGS, **(settings or {}), "DATABASE_URL": database_url}


def flask_cli(database_url: str, *arguments: str, settings: Mapping[str, str] | None = None) -> str:
    """Run ``flask --app src.app <arguments>`` against the database; return its output."""
    completed = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "src.app", *arguments],
        cwd=ROOT,
        env=app_env(database_url, settings),
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"flask {' '.join(arguments)} failed ({completed.returncode}):\n"
            f"{completed.stdout}{completed.stderr}"
        )
    return completed.stdout.strip()


@contextmanager
def temporary_database(admin_url: str | None = None) -> Iterator[str]:
    """Create ``billing_bench_<random>``, run ``flask db upgrade`` and ``flask catalog seed``,
    yield its URL, and drop it at the end (whatever happened)."""
    admin = admin_url or server_url()
    name = f"billing_bench_{secrets.token_hex(6)}"
    _admin(admin, f'CREATE DATABASE "{name}"')
    url = with_database(admin, name)
    try:
        flask_cli(url, "db", "upgrade")
        flask_cli(url, "catalog", "seed")
        yield url
    finally:
        _admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the server --------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerConfig:
    """gunicorn's worker model: ``threads`` > 1 means gthread workers, else sync workers.

    The default, 2 gthread workers x 8 threads (one process per core, threads to wait on
    PostgreSQL), served more requests per second than 4 sync workers (the Dockerfile's setup)
    in every interleaved comparison on the 2-core benchmark machine; see bench/README.md.
    """

    workers: int = 2
    threads: int = 8

    @property
    def worker_class(self) -> str:
        return "gthread" if self.threads > 1 else "sync"

    def describe(self) -> str:
        if self.worker_class == "sync":
            return f"gunicorn {self.workers} sync workers (no keep-alive: one connection/request)"
        return f"gunicorn {self.workers} gthread workers x {self.threads} threads (keep-alive)"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def log_path(name: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    return RESULTS / f"{name}-{datetime.now():%Y%m%d-%H%M%S}-gunicorn.log"


def _wait_until_up(url: str, process: "subprocess.Popen[bytes]", log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer {url} in {timeout}s:\n{log.read_text()}")


@contextmanager
def serve_app(
    database_url: str,
    config: ServerConfig,
    log: Path,
    timeout: float = 60,
    settings: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """Serve the app with gunicorn on a free loopback port; yield the base URL (no /api/v1).

    ``settings`` are environment variables on top of ``APP_SETTINGS``. Only the error log is
    written (to ``log``): an access log would be client-side work the app does not do in
    production behind a proxy that logs.
    """
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(config.workers),
        "--worker-class",
        config.worker_class,
        "--threads",
        str(config.threads),
        "--error-logfile",
        "-",
        "src.app:create_app()",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=app_env(database_url, settings),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{base_url}{API}/health", process, log, timeout)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Timeout|Exit)\b")
ALERT_WORDS = ("[CRITICAL]", "WORKER TIMEOUT", "Worker exited", "was sent SIGKILL")


def log_errors(log: Path, limit: int = 12) -> list[tuple[int, str]]:
    """The most frequent exception lines (and gunicorn alerts) of a server log, with counts."""
    if not log.exists():
        return []
    counts: Counter[str] = Counter()
    for line in log.read_text(errors="replace").splitlines():
        if EXCEPTION_LINE.match(line) or any(word in line for word in ALERT_WORDS):
            counts[line[:240]] += 1
    return [(count, line) for line, count in counts.most_common(limit)]


# --- accounts ----------------------------------------------------------------------------

PASSWORD = "bench-password-1234"


@dataclass(frozen=True)
class BenchUser:
    id: str
    email: str
    token: str


def register_users(base_url: str, count: int, password: str = PASSWORD) -> list[BenchUser]:
    """Register ``bench-user-<i>@example.com`` for i < count (8 at a time) over the API."""

    def register(index: int) -> BenchUser:
        email = f"bench-user-{index}@example.com"
        response = requests.post(
            f"{base_url}{API}/auth/register",
            json={"email": email, "password": password},
            timeout=30,
        )
        response.raise_for_status()
        body = response.json()
        return BenchUser(id=body["user"]["id"], email=email, token=body["access_token"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(register, range(count)))


def create_admin(database_url: str, base_url: str, email: str, password: str) -> BenchUser:
    """``flask users create-admin EMAIL --password P``, then log in over the API."""
    flask_cli(database_url, "users", "create-admin", email, "--password", password)
    response = requests.post(
        f"{base_url}{API}/auth/login", json={"email": email, "password": password}, timeout=30
    )
    response.raise_for_status()
    token = response.json()["access_token"]
    rows = query(database_url, "SELECT id::text FROM users WHERE email = %s", (email,))
    return BenchUser(id=str(rows[0][0]), email=email, token=token)


# --- the load driver ---------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """What one request gave: ``status`` 0 and ``error`` set when no HTTP answer came."""

    status: int
    body: Any
    error: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Recorder:
    """Sends requests on one keep-alive session and records each latency under a label."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self._session = session
        self._base_url = base_url
        self.latencies: dict[str, list[float]] = {}
        self.statuses: dict[str, Counter[str]] = {}

    async def request(
        self,
        label: str,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """The latency runs from sending until the whole body is read (time.perf_counter)."""
        started = time.perf_counter()
        try:
            async with self._session.request(
                method,
                self._base_url + path,
                json=json_body,
                data=data,
                headers=dict(headers or {}),
            ) as response:
                raw = await response.read()
                status = response.status
            reply = Reply(status, _decode(raw))
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            reply = Reply(0, None, type(error).__name__)
        elapsed = time.perf_counter() - started
        self.latencies.setdefault(label, []).append(elapsed)
        self.statuses.setdefault(label, Counter())[reply.error or str(reply.status)] += 1
        return reply


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode("utf-8", errors="replace")


ArgT = TypeVar("ArgT")
ResultT = TypeVar("ResultT")

# One virtual user: it loops until the deadline (a time.perf_counter value of its process) and
# returns what the benchmark needs to verify afterwards. Must be a module-level function:
# it is pickled into the load processes.
Scenario = Callable[[Recorder, ArgT, float], Awaitable[ResultT]]


@dataclass
class LoadResult(Generic[ResultT]):
    """Everything the load processes measured, merged. ``results`` holds what each virtual user
    returned, in virtual-user order; one that raised is left out and its traceback is in
    ``failures``."""

    latencies: dict[str, list[float]]
    statuses: dict[str, Counter[str]]
    results: list[ResultT]
    elapsed: float
    failures: list[str] = field(default_factory=list)


@dataclass
class _ProcessResult(Generic[ResultT]):
    index: int
    latencies: dict[str, list[float]]
    statuses: dict[str, Counter[str]]
    results: list[ResultT | None]
    elapsed: float
    failures: list[str]


async def _drive(
    scenario: Scenario[ArgT, ResultT], base_url: str, users: Sequence[ArgT], duration: float
) -> tuple[Recorder, list[ResultT | None], float, list[str]]:
    connector = aiohttp.TCPConnector(limit=len(users), ttl_dns_cache=None)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        recorder = Recorder(session, base_url)
        started = time.perf_counter()
        deadline = started + duration
        outcomes = await asyncio.gather(
            *(scenario(recorder, user, deadline) for user in users), return_exceptions=True
        )
        elapsed = time.perf_counter() - started
    results: list[ResultT | None] = []
    failures: list[str] = []
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            failures.append("".join(traceback.format_exception(outcome)))
            results.append(None)
        else:
            results.append(outcome)
    return recorder, results, elapsed, failures


def _load_process(
    index: int,
    scenario: Scenario[ArgT, ResultT],
    base_url: str,
    users: Sequence[ArgT],
    duration: float,
    start: Any,
    output: Any,
) -> None:
    """One load process: wait for the others, drive its share of virtual users, report."""
    try:
        start.wait(timeout=120)
        recorder, results, elapsed, failures = asyncio.run(
            _drive(scenario, base_url, users, duration)
        )
        output.put(
            _ProcessResult(index, recorder.latencies, recorder.statuses, results, elapsed, failures)
        )
    except BaseException:  # noqa: BLE001 - the parent must hear about it, not hang
        output.put(
            _ProcessResult(index, {}, {}, [None] * len(users), 0.0, [traceback.format_exc()])
        )


def run_load(
    scenario: Scenario[ArgT, ResultT],
    base_url: str,
    users: Sequence[ArgT],
    duration: float,
    processes: int = 2,
) -> LoadResult[ResultT]:
    """Run ``scenario`` once per virtual user, spread over ``processes`` load processes
    (spawned: separate interpreters from the server and from this one), all starting together.

    ``elapsed`` is the longest process's time from start until its last virtual user returned
    (virtual users finish the iteration they are in when the deadline passes).
    """
    context = multiprocessing.get_context("spawn")
    count = max(1, min(processes, len(users)))
    shares = [list(users[index::count]) for index in range(count)]
    start = context.Barrier(count)
    output = context.Queue()
    workers = [
        context.Process(
            target=_load_process,
            args=(index, scenario, base_url, share, duration, start, output),
            name=f"bench-load-{index}",
        )
        for index, share in enumerate(shares)
    ]
    for worker in workers:
        worker.start()
    collected: list[_ProcessResult[ResultT]] = []
    try:
        for _ in workers:
            collected.append(output.get(timeout=duration + 300))
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.terminate()
                worker.join()
    return _merge(collected, shares)


def _merge(
    collected: Sequence[_ProcessResult[ResultT]], shares: Sequence[Sequence[Any]]
) -> LoadResult[ResultT]:
    latencies: dict[str, list[float]] = {}
    statuses: dict[str, Counter[str]] = {}
    failures: list[str] = []
    per_process: dict[int, list[ResultT | None]] = {}
    for part in collected:
        for label, values in part.latencies.items():
            latencies.setdefault(label, []).extend(values)
        for label, counts in part.statuses.items():
            statuses.setdefault(label, Counter()).update(counts)
        failures.extend(part.failures)
        per_process[part.index] = part.results
    # Undo the round-robin split: virtual user i went to process i % count.
    count = len(shares)
    ordered: list[ResultT] = []
    for position in range(sum(len(share) for share in shares)):
        result = per_process.get(position % count, [])
        offset = position // count
        value = result[offset] if offset < len(result) else None
        if value is not None:
            ordered.append(value)
    elapsed = max((part.elapsed for part in collected), default=0.0)
    return LoadResult(latencies, statuses, ordered, elapsed, failures)


# --- the report --------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], percent: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(percent / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def _is_success(status: str) -> bool:
    return status.isdigit() and 200 <= int(status) < 300


def format_errors(counts: Counter[str]) -> str:
    errors = {status: n for status, n in counts.items() if not _is_success(status)}
    if not errors:
        return "0"
    detail = ", ".join(f"{status}: {n}" for status, n in sorted(errors.items()))
    return f"{sum(errors.values())} ({detail})"


def format_report(
    latencies: Mapping[str, Sequence[float]],
    statuses: Mapping[str, Counter[str]],
    elapsed: float,
    order: Sequence[str] = (),
) -> str:
    """A fixed-width table: per endpoint, then all together. Latencies in milliseconds."""
    labels = [label for label in order if label in latencies]
    labels += sorted(label for label in latencies if label not in labels)
    rows: list[tuple[str, list[float], Counter[str]]] = [
        (label, sorted(latencies[label]), statuses.get(label, Counter())) for label in labels
    ]
    if len(rows) > 1:
        everything = sorted(value for _, values, _ in rows for value in values)
        total: Counter[str] = Counter()
        for _, _, counts in rows:
            total.update(counts)
        rows.append(("all", everything, total))
    width = max([len("endpoint")] + [len(label) for label, _, _ in rows])
    header = (
        f"{'endpoint':<{width}}  {'requests':>8}  {'req/s':>7}  {'p50 ms':>7}  {'p90 ms':>7}  "
        f"{'p99 ms':>7}  {'max ms':>7}  errors (non-2xx by status)"
    )
    lines = [header, "-" * len(header)]
    for label, values, counts in rows:
        rate = len(values) / elapsed if elapsed > 0 else math.nan
        figures = [percentile(values, p) * 1000 for p in (50, 90, 99, 100)]
        lines.append(
            f"{label:<{width}}  {len(values):>8}  {rate:>7.1f}  "
            + "  ".join(f"{figure:>7.1f}" for figure in figures)
            + f"  {format_errors(counts)}"
        )
    return "\n".join(lines)


# --- the ledger --------------------------------------------------------------------------

# For every user: balance = SUM(amount) of the ledger; the newest entry's balance_after is the
# balance; sequences run 1..version; total_purchased and total_spent match the entries.
LEDGER_VIOLATIONS = """
    WITH ledger AS (
        SELECT user_id,
               COALESCE(SUM(amount), 0) AS total,
               COUNT(*) AS entries,
               COALESCE(MAX(sequence), 0) AS last_sequence,
               COALESCE(SUM(amount) FILTER (
                   WHERE transaction_type = 'purchase'
                      OR (transaction_type = 'refund' AND amount < 0)), 0) AS purchased,
               COALESCE(-SUM(amount) FILTER (
                   WHERE transaction_type = 'usage'
                      OR (transaction_type = 'refund' AND amount > 0)), 0) AS spent
        FROM token_transactions GROUP BY user_id
    ),
    newest AS (
        SELECT DISTINCT ON (user_id) user_id, balance_after
        FROM token_transactions ORDER BY user_id, sequence DESC
    )
    SELECT COALESCE(b.user_id, l.user_id)::text AS user_id, b.balance, l.total,
           n.balance_after, b.version, l.entries, l.last_sequence
    FROM user_token_balances b
    FULL JOIN ledger l ON l.user_id = b.user_id
    LEFT JOIN newest n ON n.user_id = COALESCE(b.user_id, l.user_id)
    WHERE b.user_id IS NULL
       OR b.balance <> COALESCE(l.total, 0)
       OR (l.user_id IS NOT NULL AND n.balance_after <> b.balance)
       OR b.version <> COALESCE(l.entries, 0)
       OR b.version <> COALESCE(l.last_sequence, 0)
       OR b.total_purchased <> COALESCE(l.purchased, 0)
       OR b.total_spent <> COALESCE(l.spent, 0)
"""


def query(
    database_url: str, statement: str, parameters: Sequence[Any] = ()
) -> list[tuple[Any, ...]]:
    connection = psycopg2.connect(database_url, connect_timeout=5)
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement, tuple(parameters))
            return [tuple(row) for row in cursor.fetchall()]
    finally:
        connection.close()


def execute(database_url: str, statement: str) -> None:
    """Run one statement that returns no rows (autocommit: ``ANALYZE``, ``VACUUM`` ...)."""
    _admin(database_url, statement)


def ledger_violations(database_url: str) -> list[tuple[Any, ...]]:
    """Users whose balance row and ledger disagree (empty: the invariant holds)."""
    return query(database_url, LEDGER_VIOLATIONS)


# What the benchmark's database sessions are doing, sampled while a phase runs.
SESSION_STATES = """
    SELECT count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock'),
           count(*) FILTER (WHERE state = 'idle in transaction'),
           count(*) FILTER (WHERE state = 'active' AND wait_event_type IS DISTINCT FROM 'Lock')
    FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
      AND backend_type = 'client backend'
"""


@dataclass
class SessionSample:
    """Average number of the database's client sessions that were, per sample: waiting for a
    lock; idle inside a transaction (the client working between two statements); running."""

    samples: int = 0
    waiting_for_lock: float = 0.0
    idle_in_transaction: float = 0.0
    running: float = 0.0

    def describe(self) -> str:
        return (
            f"{self.waiting_for_lock:.1f} waiting for a lock, {self.idle_in_transaction:.1f} idle "
            f"in transaction, {self.running:.1f} running ({self.samples} samples)"
        )


@contextmanager
def sample_sessions(database_url: str, interval: float = 0.05) -> Iterator[SessionSample]:
    """Sample ``pg_stat_activity`` every ``interval`` seconds in a thread until the block ends;
    the yielded ``SessionSample`` holds the averages afterwards."""
    result = SessionSample()
    stop = threading.Event()
    totals = [0, 0, 0]

    def sample() -> None:
        connection = psycopg2.connect(database_url, connect_timeout=5)
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                while not stop.wait(interval):
                    cursor.execute(SESSION_STATES)
                    row = cursor.fetchone()
                    if row is None:
                        continue
                    for index in range(3):
                        totals[index] += int(row[index])
                    result.samples += 1
        finally:
            connection.close()

    thread = threading.Thread(target=sample, name="bench-session-sampler", daemon=True)
    thread.start()
    try:
        yield result
    finally:
        stop.set()
        thread.join(timeout=10)
        if result.samples:
            result.waiting_for_lock = totals[0] / result.samples
            result.idle_in_transaction = totals[1] / result.samples
            result.running = totals[2] / result.samples
