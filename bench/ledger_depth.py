"""Does a user's ledger depth slow their money reads? The balance and the ledger pages of a
user with 1,000 entries against one with 1,000,000, through the API.

    .venv/bin/python -m bench.ledger_depth [--duration S] [--connections C]
        [--workers W] [--threads T]

Defaults: 5 s per measurement, 4 wrk connections, 2 gthread workers x 8 threads.

Setup (not timed): a fresh database; the server (granian); two registered users whose ledgers are
seeded in SQL (bonus entries of 1 token, sequence 1..n, balance_after the running sum, the balance
row at balance = version = n), then VACUUM ANALYZE, CHECKPOINT and the ledger invariant check.
Timed, for each user: GET /user/tokens/balance, the first page of
GET /user/tokens/transactions?limit=50 and a deep page (the cursor of sequence n/2). A page
is a keyset range scan on (user_id, sequence), so depth should not show: PASS when the 1M
user's mean latency is within 1.25 x the 1k user's.
EXPLAIN (ANALYZE, BUFFERS) of the page query shows the plan for both.
"""

import argparse
import base64
import json
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2

from bench.accounts import BenchUser, register_users
from bench.database import (
    execute,
    ledger_violations,
    postgres_version,
    query,
    server_url,
    temporary_database,
)
from bench.report import display_path, load_average, print_machine, print_verdict
from bench.server import ServerConfig, log_errors, log_path, serve_app
from bench.wrk import WrkResult, run_wrk, wrk_version

DEPTHS = (1_000, 1_000_000)
PAGE = 50
MAX_RATIO = 1.25  # mean latency of the deep ledger over the shallow one: within noise

# Bonus entries (counted neither as purchased nor as spent by the invariant) continuing the
# user's ledger after its current version v and balance b: sequence v+1..v+n, balance_after
# the running sum, one second apart so that created_at orders like sequence.
SEED_LEDGER = """
    INSERT INTO token_transactions (id, user_id, sequence, amount, held_delta, transaction_type,
                                    reference_type, reference_id, description, balance_after,
                                    created_by, created_at)
    SELECT gen_random_uuid(), %(user)s::uuid, %(version)s + s, 1, 0, 'bonus', NULL, NULL,
           'bench ledger depth', %(balance)s + s, NULL,
           now() - make_interval(secs => %(count)s - s)
    FROM generate_series(1, %(count)s) AS s
"""
SEED_BALANCE = """
    INSERT INTO user_token_balances (user_id, balance, held, total_purchased, total_spent,
                                     version, updated_at)
    VALUES (%(user)s::uuid, %(count)s, 0, 0, 0, %(count)s, now())
    ON CONFLICT (user_id) DO UPDATE
       SET balance = user_token_balances.balance + %(count)s,
           version = user_token_balances.version + %(count)s, updated_at = now()
"""
# The shape of the app's page query (TokenRepository.list_transactions), with limit + 1.
PAGE_QUERY = """
    SELECT * FROM token_transactions
    WHERE user_id = %(user)s::uuid AND sequence < %(before)s
    ORDER BY sequence DESC LIMIT %(limit)s
"""


def sequence_cursor(sequence: int) -> str:
    """The app's opaque ledger cursor (src/pagination.py encode_sequence_cursor, duplicated
    because benchmarks talk HTTP only): base64url without padding of ``["seq", n]``."""
    return base64.urlsafe_b64encode(json.dumps(["seq", sequence]).encode()).decode().rstrip("=")


def seed(database_url: str, user: BenchUser, count: int) -> None:
    """``count`` ledger entries for ``user`` and the balance row that matches them."""
    connection = psycopg2.connect(database_url, connect_timeout=5)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT COALESCE(MAX(version), 0), COALESCE(MAX(balance), 0) "
                "FROM user_token_balances WHERE user_id = %s::uuid",
                (user.id,),
            )
            row = cursor.fetchone()
            version, balance = (int(row[0]), int(row[1])) if row else (0, 0)
            values = {"user": user.id, "count": count, "version": version, "balance": balance}
            cursor.execute(SEED_LEDGER, values)
            cursor.execute(SEED_BALANCE, values)
    finally:
        connection.close()


def plan_nodes(plan: dict[str, Any]) -> Iterator[str]:
    """Node type (with index), rows and buffers of each plan node, depth first."""
    index = f" using {plan['Index Name']}" if "Index Name" in plan else ""
    yield (
        f"{plan['Node Type']}{index}: rows {plan.get('Actual Rows')}, shared hit "
        f"{plan.get('Shared Hit Blocks', 0)}, read {plan.get('Shared Read Blocks', 0)}"
    )
    for child in plan.get("Plans", []):
        yield from plan_nodes(child)


def explain(database_url: str, user: BenchUser, before: int) -> list[str]:
    """The page query's plan for ``user``, for the page ending before sequence ``before``."""
    connection = psycopg2.connect(database_url, connect_timeout=5)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + PAGE_QUERY,
                {"user": user.id, "before": before, "limit": PAGE + 1},
            )
            row = cursor.fetchone()
    finally:
        connection.close()
    document = row[0][0] if row else {}
    lines = [f"    {line}" for line in plan_nodes(document["Plan"])]
    return lines + [f"    execution {document.get('Execution Time', float('nan')):.3f} ms"]


@dataclass
class Measure:
    path: str
    entries: int
    result: WrkResult


def paths(entries: int) -> dict[str, str]:
    return {
        "balance": "/api/v1/user/tokens/balance",
        "first page": f"/api/v1/user/tokens/transactions?limit={PAGE}",
        "deep page": f"/api/v1/user/tokens/transactions?limit={PAGE}"
        f"&cursor={sequence_cursor(entries // 2)}",
    }


def measure(
    base_url: str, files: Path, users: Sequence[BenchUser], arguments: argparse.Namespace
) -> list[Measure]:
    """Each path for the shallow user, then at once for the deep one: the machine's drift
    between the two halves of a ratio stays small."""
    measures = []
    for name in paths(1):
        for user, entries in zip(users, DEPTHS):
            tokens = files / f"{entries}.tokens"
            tokens.write_text(user.token + "\n")
            environment = {"BENCH_TOKENS": str(tokens), "BENCH_PATH": paths(entries)[name]}
            # Untimed first second: the workers' lazy imports and first connections, the
            # pages' buffers; otherwise whichever user is measured first looks slower.
            run_wrk(
                base_url,
                "get.lua",
                connections=arguments.connections,
                threads=2,
                duration=1,
                environment=environment,
            )
            print(
                f"\n{name}, {entries} entries: GET {environment['BENCH_PATH']} "
                f"(load average {load_average()})"
            )
            sys.stdout.flush()
            result = run_wrk(
                base_url,
                "get.lua",
                connections=arguments.connections,
                threads=2,
                duration=arguments.duration,
                environment=environment,
            )
            print(f"  wrk: {result.describe()}")
            measures.append(Measure(name, entries, result))
    return measures


def summary_table(measures: Sequence[Measure]) -> tuple[str, list[str]]:
    """The table, and the paths whose deep ledger is slower than ``MAX_RATIO``."""
    header = (
        f"{'path':<12}  {'entries':>9}  {'req/s':>8}  {'mean ms':>7}  {'p50 ms':>7}  "
        f"{'p99 ms':>7}  {'1M/1k mean':>10}"
    )
    lines = [header, "-" * len(header)]
    shallow = {m.path: m.result for m in measures if m.entries == DEPTHS[0]}
    slow: list[str] = []
    for m in measures:
        ratio = ""
        if m.entries == DEPTHS[-1] and m.path in shallow:
            value = m.result.mean_ms / shallow[m.path].mean_ms
            verdict = "PASS" if value <= MAX_RATIO else "FAIL"
            ratio = f"{value:.2f} {verdict}"
            if verdict == "FAIL":
                slow.append(m.path)
        lines.append(
            f"{m.path:<12}  {m.entries:>9}  {m.result.rate:>8.1f}  {m.result.mean_ms:>7.2f}  "
            f"{m.result.p50_ms:>7.2f}  {m.result.p99_ms:>7.2f}  {ratio:>10}"
        )
    return "\n".join(lines), slow


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ledger_depth",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    defaults = ServerConfig()
    parser.add_argument("--duration", type=float, default=5, help="seconds per measurement (5)")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections (4)")
    parser.add_argument("--workers", type=int, default=defaults.workers)
    parser.add_argument("--threads", type=int, default=defaults.threads)
    arguments = parser.parse_args(argv)
    if min(arguments.duration, arguments.connections, arguments.workers, arguments.threads) < 1:
        parser.error("--duration, --connections, --workers and --threads must be at least 1")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    config = ServerConfig(arguments.workers, arguments.threads)
    log = log_path("ledger_depth")
    print("ledger_depth: balance and ledger pages of a 1k-entry user vs a 1M-entry user")
    print_machine(postgres_version(server_url()))
    print(f"  server:       {config.describe()}")
    print(f"  load:         {wrk_version()}, {arguments.connections} connections")
    print(f"  server log:   {display_path(log)}")
    sys.stdout.flush()
    problems: list[str] = []
    measures: list[Measure] = []
    with temporary_database() as database_url, tempfile.TemporaryDirectory() as files:
        with serve_app(database_url, config, log) as base_url:
            users = register_users(base_url, len(DEPTHS))
            started = time.perf_counter()
            for user, depth in zip(users, DEPTHS):
                seed(database_url, user, depth)
            execute(database_url, "VACUUM ANALYZE token_transactions")
            execute(database_url, "VACUUM ANALYZE user_token_balances")
            # The seed leaves the shared buffers full of dirty pages; written out now,
            # untimed, a checkpoint that falls due during a timed phase has little to write.
            # Without it, on 2026-12-03, one phase of each of two runs ran at half speed, a
            # different one each time (first page, then deep page: not the ledger's depth).
            execute(database_url, "CHECKPOINT")
            violations = ledger_violations(database_url)
            entries = query(database_url, "SELECT count(*) FROM token_transactions")[0][0]
            print(
                f"  setup:        {entries} ledger entries seeded, vacuumed and checkpointed in "
                f"{time.perf_counter() - started:.1f} s (not timed); ledger invariant "
                f"{'holds' if not violations else 'BROKEN'}"
            )
            problems += [f"ledger violation after seeding: {row}" for row in violations[:10]]
            for user, depth in zip(users, DEPTHS):
                print(f"\n  plan of the page query, {depth} entries:")
                for before, name in ((2**31 - 1, "first page"), (depth // 2, "deep page")):
                    print(f"   {name}:")
                    print("\n".join(explain(database_url, user, before)))
            measures = measure(base_url, Path(files), users, arguments)
        server_errors = log_errors(log)
    for m in measures:
        if not m.result.ok or m.result.requests != m.result.statuses["200"]:
            problems.append(f"{m.path}, {m.entries} entries: not every answer was 200")
    table, slow = summary_table(measures)
    print()
    print(table)
    print(f"(PASS: the 1M user's mean latency is at most {MAX_RATIO} x the 1k user's)")
    if slow:
        print(f"deep ledger slower on: {', '.join(slow)}")
    print()
    print_verdict(problems, log, server_errors)
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
