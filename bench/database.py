"""The benchmark's PostgreSQL database: its life, the SQL the checks run, and its sessions.

- ``temporary_database``: a fresh database, migrated and seeded, dropped at the end, so that
  every run starts from the same empty state and leaves nothing behind.
- ``query`` / ``execute`` / ``token_balances``: direct SQL, for the checks after the load
  (what the app answered is compared with what the database holds).
- ``ledger_violations``: the token ledger invariant, checked in SQL.
- ``sample_sessions``: what the database's sessions do while a phase runs (lock waits, idle in
  transaction), sampled from ``pg_stat_activity``.

``BENCH_DATABASE_URL`` names the server (default ``DEFAULT_SERVER_URL``).
"""

import os
import secrets
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg2

from bench.server import flask_cli

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


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


def token_balances(database_url: str) -> dict[str, int]:
    """Every balance row: user id -> balance."""
    rows = query(database_url, "SELECT user_id::text, balance FROM user_token_balances")
    return {str(user_id): int(balance) for user_id, balance in rows}


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


def ledger_violations(database_url: str) -> list[tuple[Any, ...]]:
    """Users whose balance row and ledger disagree (empty: the invariant holds)."""
    return query(database_url, LEDGER_VIOLATIONS)


# --- the sessions ------------------------------------------------------------------------

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


# Sessions of the benchmark database inside a transaction (other than the asking one).
OPEN_TRANSACTIONS = """
    SELECT count(*) FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
      AND backend_type = 'client backend' AND xact_start IS NOT NULL
"""


def wait_until_quiet(database_url: str, quiet: float = 1.0, timeout: float = 60) -> float:
    """Wait until no session has been inside a transaction for ``quiet`` seconds; return the
    seconds waited. A load generator that stops at a deadline (wrk) leaves requests in the
    server that still commit afterwards: a check that starts too early sees half a phase."""
    started = time.monotonic()
    quiet_since = started
    connection = psycopg2.connect(database_url, connect_timeout=5)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            while time.monotonic() - started < timeout:
                cursor.execute(OPEN_TRANSACTIONS)
                row = cursor.fetchone()
                if row and int(row[0]):
                    quiet_since = time.monotonic()
                elif time.monotonic() - quiet_since >= quiet:
                    break
                time.sleep(0.05)
    finally:
        connection.close()
    return time.monotonic() - started
