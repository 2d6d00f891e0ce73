"""Issue 14, fast money paths: the API's consume, balance read and capture, each against what
the database alone needs for it, in one run on one server.

    .venv/bin/python -m bench.money_paths [--users N] [--duration S] [--concurrency C]
        [--workers W] [--threads T] [--clients T] [--keepalive S] [--db-pool-size N]
        [--py-spy DIR]

Defaults: 1,000 users, 10 s per phase, 16 connections, granian 2 workers x 1 blocking thread
(bin/run's server), 2 wrk threads (``--clients``). The load comes from wrk (bench/wrk.py,
bench/lua/*.lua), a C client in its own process, so a Python client's CPU does not cap the
API's figures.

Setup (not timed): a fresh database; the server with TRIAL_CREDITS=0; N users granted
10,000,000 tokens each by an admin; warm-up consumes; the pgbench reference tables
(bench/deduct.pgbench); 4 s of balance reads over every user's token, so that each worker
has verified each token once (``warm_tokens``).
Timed, with checks after each (not timed):
  consume, many users   wrk C connections, POST /user/tokens/consume rotating over the users,
                        vs pgbench bench/deduct.pgbench -c C over the same users
  consume, one hot user the same, all on users[0]
  balance read          GET /user/tokens/balance at C connections (throughput) and 4 (p99),
                        vs pgbench bench/balance_read.pgbench at C and 4 clients
  capture               signed POST /webhooks/payment of 3-item invoices made in the setup,
                        each once (duration x 600 invoices)
The final table gives API over pgbench, then the issue's goals as PASS/FAIL lines. The exit
status is 1 when a check failed (money lost or invented, a load process failed), not for a
missed goal.
"""

import argparse
import subprocess
import math
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from bench import cpu
from bench.accounts import BenchUser, create_admin, grant_tokens, register_users
from bench.checkout_capture import Bundle, token_bundles
from bench.consume import warm_up
from bench.consume_checks import verify_phase
from bench.database import (
    ledger_violations,
    postgres_version,
    query,
    server_url,
    temporary_database,
    token_balances,
    wait_until_quiet,
)
from bench.money_setup import (
    create_deduct_tables,
    create_invoices,
    deduct_totals,
    write_signed_webhooks,
)
from bench.options import add_common_arguments, check_counts, check_whole_seconds
from bench.pgbench import PgbenchResult, pgbench_version, run_pgbench
from bench.placement import ConnectionPlacement
from bench.pyspy import record_workers, summarize
from bench.report import display_path, load_average, percentile, print_machine, print_verdict
from bench.server import ServerConfig, log_errors, log_path, serve_app_process
from bench.wrk import WrkResult, run_wrk, wrk_version

BENCH = Path(__file__).resolve().parent
GRANT = 10_000_000
ADMIN_EMAIL = "bench-admin@example.com"
ADMIN_PASSWORD = "bench-admin-password"
PGBENCH_THREADS = 2
LATENCY_CONNECTIONS = 4  # the balance read's p99 goal is taken at low concurrency
INVOICES_PER_SECOND = 600  # capture invoices made per timed second: twice the goal's rate
FILLER = "/api/v1/bench-capture-filler"  # a 404 path, see bench/lua/capture.lua
TOKEN_WARM_UP_SECONDS = 4  # ~6,000 reads: each of 1,000 tokens ~3 times per worker


@dataclass
class Row:
    """One line of the final table (latencies in ms)."""

    path: str
    api_rate: float = math.nan
    api_p50: float = math.nan
    api_p99: float = math.nan
    pgbench_tps: float = math.nan
    pgbench_p99: float = math.nan
    placement: str = ""  # how the API's connections were split among the workers

    @property
    def ratio(self) -> float:
        return self.api_rate / self.pgbench_tps if self.pgbench_tps > 0 else math.nan


@dataclass
class Run:
    """What the phases share: where to send, what to run for how long, and what went wrong."""

    base_url: str
    master_pid: int
    database_url: str
    arguments: argparse.Namespace
    files: Path
    problems: list[str]
    last_cpu: cpu.CpuUse | None = None  # the CPU of the latest wrk or pgbench run

    def wrk(self, script: str, connections: int, duration: float, **env: str) -> WrkResult:
        return self.placed_wrk(script, connections, duration, **env)[0]

    def placed_wrk(
        self, script: str, connections: int, duration: float, **env: str
    ) -> tuple[WrkResult, ConnectionPlacement]:
        """``wrk``, and which worker held each of its connections halfway through."""
        port = urlsplit(self.base_url).port or 80
        placement = ConnectionPlacement(self.master_pid, port, after=duration / 2)
        with cpu.measure(self.master_pid) as use, placement:
            result = run_wrk(
                self.base_url,
                script,
                connections=connections,
                threads=self.arguments.clients,
                duration=duration,
                environment=env,
            )
        print(f"  wrk: {result.describe()}")
        print(f"  {use.describe(result.requests)}; {placement.describe()}")
        self.last_cpu = use
        if not result.ok:
            self.problems.append(f"wrk {script} failed:\n{result.output[-2000:]}")
        return result, placement

    def pgbench(self, script: str, clients: int, users: Sequence[BenchUser]) -> PgbenchResult:
        with cpu.measure(self.master_pid) as use:
            result = run_pgbench(
                self.database_url,
                BENCH / script,
                clients=clients,
                threads=PGBENCH_THREADS,
                duration=self.arguments.duration,
                variables={"nusers": str(len(users))},
            )
        print(f"  pgbench: {result.describe()}")
        print(f"  {use.describe(result.transactions)}")
        if not result.ok:
            self.problems.append(f"pgbench {script} did not run cleanly:\n{result.output[-2000:]}")
        return result

    def tokens_file(self, name: str, users: Sequence[BenchUser]) -> Path:
        path = self.files / f"{name}.tokens"
        path.write_text("".join(f"{user.token}\n" for user in users))
        return path


def header(title: str) -> None:
    print(f"\n{title} (load average {load_average()})")
    sys.stdout.flush()


def set_pgbench(row: Row, result: PgbenchResult) -> None:
    row.pgbench_tps = result.tps
    row.pgbench_p99 = percentile(result.latencies, 99) * 1000


# --- phases ------------------------------------------------------------------------------


def warm_tokens(run: Run, users: Sequence[BenchUser]) -> None:
    """Balance reads over every user's token for TOKEN_WARM_UP_SECONDS at --concurrency
    connections (not timed), so that each worker has verified each token before the phases.

    A worker verifies a bearer token once and keeps it (src/token_cache.py); in production a
    token is presented for the hour it lives. A 6-second phase over 1,000 users instead saw
    most tokens for the first time on each worker: py-spy found PyJWT's decode in 5.6 % of the
    many-users consume's samples (1,290 consumes for 1,000 users). The phases measure the
    steady state."""
    result = run_wrk(
        run.base_url,
        "get.lua",
        connections=run.arguments.concurrency,
        threads=run.arguments.clients,
        duration=TOKEN_WARM_UP_SECONDS,
        environment={
            "BENCH_TOKENS": str(run.tokens_file("warm", users)),
            "BENCH_PATH": "/api/v1/user/tokens/balance",
        },
    )
    if not result.ok or result.requests != result.statuses["200"]:
        run.problems.append(f"token warm-up: {result.describe()}")


def profiling(run: Run, phase: str) -> bool:
    """Whether ``--py-spy`` records this phase (``--py-spy-phase``; by default the first)."""
    chosen = run.arguments.py_spy_phase or ("capture" if run.arguments.capture_only else "consume")
    return run.arguments.py_spy is not None and chosen == phase


def finish_profiles(
    profiles: Sequence[tuple[Path, "subprocess.Popen[bytes]"]], duration: float
) -> None:
    """Wait for the py-spy recorders of a phase and print their summary."""
    for output, process in profiles:
        _, errors = process.communicate(timeout=duration + 60)
        if process.returncode != 0:
            print(f"  py-spy for {output.name} exited {process.returncode}: {errors[-500:]!r}")
    if profiles:
        print("\n".join(summarize([output for output, _ in profiles])))


def consume_phase(run: Run, key: str, title: str, users: Sequence[BenchUser]) -> Row:
    row = Row(f"consume, {title}")
    connections = run.arguments.concurrency
    prefix = f"api-{key}-"
    header(f"{row.path} / API: wrk {connections} connections")
    before = token_balances(run.database_url)
    profiles = []
    if profiling(run, "consume") and key == "A":
        profiles = record_workers(
            run.master_pid, run.arguments.py_spy, "consume", run.arguments.duration
        )
    tokens = run.tokens_file(prefix, users)
    result = run.wrk(
        "consume.lua",
        connections,
        run.arguments.duration,
        BENCH_TOKENS=str(tokens),
        BENCH_PREFIX=prefix,
    )
    finish_profiles(profiles, run.arguments.duration)
    waited = wait_until_quiet(run.database_url)
    print(f"  (checks after the server's last open transaction, {waited:.1f} s after wrk)")
    created = result.statuses["201"]
    row.api_rate = created / result.duration if result.duration > 0 else math.nan
    row.api_p50, row.api_p99 = result.p50_ms, result.p99_ms
    # wrk stops at the deadline with up to one request per connection unanswered: each may
    # or may not have been recorded, like a 5xx or a socket error.
    uncertain = result.answered(500, 600) + result.socket_errors + connections
    check = verify_phase(run.database_url, prefix, before, created, None, uncertain, None)
    print("\n".join(check.lines))
    run.problems.extend(check.problems)
    unexpected = result.requests - created - result.answered(500, 600)
    if unexpected:
        run.problems.append(f"{prefix}: {unexpected} answers neither 201 nor 5xx")

    header(f"{row.path} / pgbench bench/deduct.pgbench -c {connections}")
    balances, entries, _ = deduct_totals(run.database_url)
    pgbench = run.pgbench("deduct.pgbench", connections, users)
    set_pgbench(row, pgbench)
    balances_after, entries_after, repeated = deduct_totals(run.database_url)
    debits = entries_after - entries
    print(
        f"  check: {debits} ledger entries = {pgbench.transactions} transactions; balances "
        f"dropped by {balances - balances_after}; {repeated} repeated balance_after"
    )
    if not debits == pgbench.transactions == balances - balances_after or repeated:
        run.problems.append(f"deduct {key}: ledger entries, transactions and balance drop differ")
    return row


def balance_phase(run: Run, users: Sequence[BenchUser], connections: int) -> Row:
    row = Row(f"balance read, {connections} conn")
    header(f"{row.path} / API: wrk GET /api/v1/user/tokens/balance")
    tokens = run.tokens_file("balance", users)
    profiles = []
    if profiling(run, "reads") and connections == run.arguments.concurrency:
        profiles = record_workers(
            run.master_pid, run.arguments.py_spy, "reads", run.arguments.duration
        )
    result, placement = run.placed_wrk(
        "get.lua",
        connections,
        run.arguments.duration,
        BENCH_TOKENS=str(tokens),
        BENCH_PATH="/api/v1/user/tokens/balance",
    )
    finish_profiles(profiles, run.arguments.duration)
    if placement.split is not None:
        row.placement = "+".join(str(count) for count in placement.split)
    row.api_rate = result.rate_of(200, 300)
    row.api_p50, row.api_p99 = result.p50_ms, result.p99_ms
    if result.requests != result.statuses["200"]:
        run.problems.append(f"balance reads: {result.requests - result.statuses['200']} not 200")
    header(f"{row.path} / pgbench bench/balance_read.pgbench -c {connections}")
    set_pgbench(row, run.pgbench("balance_read.pgbench", connections, users))
    return row


def capture_rate(captured: int, paid_at: Sequence[datetime]) -> float:
    """Captures per second over the span of the invoices' ``paid_at`` (each capture's own
    instant), not wrk's elapsed time. wrk can lose a request it built when a closed
    connection is reopened; the thread that lost it then waits for it until the time limit,
    and that wait would count as capture time."""
    if captured < 2 or len(paid_at) < 2:
        return math.nan
    span = (max(paid_at) - min(paid_at)).total_seconds()
    return (len(paid_at) - 1) / span if span > 0 else math.nan


def capture_phase(run: Run, users: Sequence[BenchUser], bundles: Sequence[Bundle]) -> Row:
    row = Row("capture, 3-item invoice")
    count = max(1, round(run.arguments.duration * INVOICES_PER_SECOND))
    started = time.perf_counter()
    invoices = create_invoices(run.base_url, users, bundles, count)
    tokens = sum(bundle.tokens for bundle in bundles)
    print(
        f"\n  capture setup: {len(invoices)} pending invoices of {[b.id for b in bundles]} "
        f"({tokens} tokens each), {time.perf_counter() - started:.1f} s, not timed"
    )
    bodies = run.files / "captures.txt"
    before = token_balances(run.database_url)
    write_signed_webhooks(invoices, bodies)  # just before the phase: 300 s signature window
    connections = run.arguments.concurrency
    header(f"{row.path} / API: wrk {connections} connections, each webhook once")
    limit = max(30.0, 6 * run.arguments.duration)  # the run ends when every body is answered
    profiles = []
    if profiling(run, "capture"):
        profiles = record_workers(
            run.master_pid, run.arguments.py_spy, "capture", run.arguments.duration
        )
    result = run.wrk(
        "capture.lua", connections, limit, BENCH_BODIES=str(bodies), BENCH_FILLER=FILLER
    )
    finish_profiles(profiles, run.arguments.duration)
    wait_until_quiet(run.database_url)
    sent, answered = result.exported.get("sent", 0), result.exported.get("answered", 0)
    captured = result.exported.get("captured", 0)
    if run.last_cpu is not None:
        # The fillers' CPU is in it too: an upper bound of a capture's own.
        print(f"  {run.last_cpu.describe(captured, 'capture (fillers included)')}")
    row.api_p50, row.api_p99 = result.p50_ms, result.p99_ms
    paid_rows = query(
        run.database_url,
        "SELECT user_id::text, paid_at FROM invoices WHERE status = 'paid'"
        " AND id = ANY(%s::uuid[])",
        ([invoice.id for invoice in invoices],),
    )
    paid: Counter[str] = Counter(str(user_id) for user_id, _ in paid_rows)
    row.api_rate = capture_rate(captured, [paid_at for _, paid_at in paid_rows])
    print(
        f"  rate: {row.api_rate:.1f} captures/s from the first to the last paid_at "
        f"(wrk's own: {captured / result.duration if result.duration > 0 else math.nan:.1f}/s "
        f"over its {result.duration:.1f} s)"
    )
    after = token_balances(run.database_url)
    credited_ok = sum(
        1 for user in users if after[user.id] - before[user.id] == paid[user.id] * tokens
    )
    violations = ledger_violations(run.database_url)
    print(
        f"  check: {sent}/{len(invoices)} webhooks sent, {answered} answered "
        f"({result.statuses.get('404', 0)} filler 404s not counted), {captured} captured; "
        f"{sum(paid.values())} invoices paid in SQL; balances rose by the paid invoices' tokens "
        f"for {credited_ok}/{len(users)} users; ledger invariant "
        f"{'holds' if not violations else 'BROKEN'}"
    )
    if not captured <= sum(paid.values()) <= captured + (sent - answered):
        run.problems.append(f"capture: {sum(paid.values())} invoices paid, {captured} captures")
    if credited_ok != len(users):
        run.problems.append(f"capture: balance rise != paid tokens for {len(users) - credited_ok}")
    run.problems.extend(f"ledger violation: {violation}" for violation in violations[:10])
    return row


# --- report ------------------------------------------------------------------------------


def summary_table(rows: Sequence[Row]) -> str:
    header_line = (
        f"{'path':<26}  {'API req/s':>9}  {'API p50':>7}  {'API p99':>7}  "
        f"{'pgb tps':>8}  {'pgb p99':>7}  {'API/pgbench':>11}"
    )
    lines = [header_line, "-" * len(header_line)]
    for row in rows:
        lines.append(
            f"{row.path:<26}  {row.api_rate:>9.1f}  {row.api_p50:>7.2f}  {row.api_p99:>7.2f}  "
            f"{row.pgbench_tps:>8.1f}  {row.pgbench_p99:>7.2f}  {row.ratio:>11.1%}"
        )
    lines.append("(latencies in ms; API req/s counts 2xx answers, for capture only 'success')")
    return "\n".join(lines)


def goals(rows: dict[str, Row], connections: int) -> list[str]:
    """The goals of the phases that ran."""
    checks = []
    if "many" in rows:
        many, hot = rows["many"], rows["hot"]
        reads, latency = rows["reads"], rows["latency"]
        checks += [
            (f"consume, many users >= 0.5 x pgbench ({many.ratio:.1%})", many.ratio >= 0.5),
            (f"consume, one hot user >= 0.5 x pgbench ({hot.ratio:.1%})", hot.ratio >= 0.5),
            (
                f"balance reads >= 3,000/s at {connections} connections "
                f"({reads.api_rate:.0f}/s)",
                reads.api_rate >= 3000,
            ),
            (
                f"balance p99 < 2 ms at {LATENCY_CONNECTIONS} connections "
                f"({latency.api_p99:.2f} ms; connections per worker "
                f"{latency.placement or 'not sampled'})",
                latency.api_p99 < 2,
            ),
        ]
    if "capture" in rows:
        rate = rows["capture"].api_rate
        checks.append((f"capture >= 300/s ({rate:.0f}/s)", rate >= 300))
    return [f"  {'PASS' if passed else 'FAIL'}  {what}" for what, passed in checks]


# --- main --------------------------------------------------------------------------------


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.money_paths",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_arguments(
        parser,
        concurrency_help="wrk connections and pgbench clients of the throughput phases (16)",
        duration_default=10,
        duration_help="timed seconds per phase (default 10)",
    )
    parser.set_defaults(users=1000)
    helps = {"users": "registered users (default 1000)", "clients": "wrk threads (default 2)"}
    for action in parser._actions:
        action.help = helps.get(action.dest, action.help)
    parser.add_argument("--keepalive", type=int, help="gunicorn --keep-alive seconds")
    parser.add_argument(
        "--server",
        choices=("granian", "gunicorn", "gunicorn-gthread"),
        default="granian",
        help="granian (bin/run's server, src/serve.py), or gunicorn to compare: sync workers, "
        "gthread with --threads > 1 (default granian)",
    )
    parser.add_argument(
        "--skip-capture", action="store_true", help="leave out the capture phase (and its setup)"
    )
    parser.add_argument(
        "--capture-only", action="store_true", help="run the capture phase alone (no pgbench)"
    )
    parser.add_argument("--db-pool-size", type=int, help="the app's DB_POOL_SIZE")
    parser.add_argument("--py-spy", type=Path, help="profile the workers in one phase")
    parser.add_argument(
        "--py-spy-phase",
        choices=("consume", "reads", "capture"),
        help="the phase --py-spy profiles: the many-users consume, the reads at --concurrency "
        "connections, or the capture (default: the first that runs)",
    )
    arguments = parser.parse_args(argv)
    check_counts(parser, arguments)
    if arguments.capture_only and arguments.skip_capture:
        parser.error("--capture-only and --skip-capture exclude each other")
    check_whole_seconds(parser, arguments)
    arguments.duration = float(round(arguments.duration))
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    config = ServerConfig(
        arguments.workers, arguments.threads, arguments.keepalive, arguments.server
    )
    settings = {"TRIAL_CREDITS": "0"}
    if arguments.db_pool_size is not None:
        settings["DB_POOL_SIZE"] = str(arguments.db_pool_size)
    log = log_path("money_paths")
    print("money_paths: consume, balance read and capture through the API vs the SQL alone")
    print_machine(postgres_version(server_url()))
    print(
        f"  server:       {config.describe()}, keep-alive {arguments.keepalive or 'default'}, "
        f"DB_POOL_SIZE {arguments.db_pool_size or 'default'}, TRIAL_CREDITS=0"
    )
    print(
        f"  load:         {wrk_version()}, {arguments.clients} threads; "
        f"{pgbench_version()}, -M prepared -j {PGBENCH_THREADS}; {arguments.duration:g} s/phase"
    )
    print(f"  server log:   {display_path(log)}")
    sys.stdout.flush()
    problems: list[str] = []
    rows: dict[str, Row] = {}
    with temporary_database() as database_url, tempfile.TemporaryDirectory() as files:
        with serve_app_process(database_url, config, log, settings=settings) as served:
            started = time.perf_counter()
            admin = create_admin(database_url, served.base_url, ADMIN_EMAIL, ADMIN_PASSWORD)
            users = register_users(served.base_url, arguments.users)
            grant_tokens(served.base_url, admin, users, GRANT)
            warm_up(served.base_url, users, 2 * arguments.concurrency)
            create_deduct_tables(database_url, len(users), GRANT)
            catalog = token_bundles(served.base_url)
            bundles = [catalog[index % len(catalog)] for index in range(3)]
            print(
                f"  setup:        {len(users)} users with {GRANT} tokens, warm-up, deduct "
                f"tables ({time.perf_counter() - started:.1f} s, not timed)"
            )
            run = Run(served.base_url, served.pid, database_url, arguments, Path(files), problems)
            warm_tokens(run, users)
            if not arguments.capture_only:
                rows["many"] = consume_phase(run, "A", "many users", users)
                rows["hot"] = consume_phase(run, "B", "one hot user", users[:1])
                rows["reads"] = balance_phase(run, users, arguments.concurrency)
                rows["latency"] = balance_phase(run, users, LATENCY_CONNECTIONS)
            if not arguments.skip_capture:
                rows["capture"] = capture_phase(run, users, bundles)
        server_errors = log_errors(log)
    print()
    print(summary_table(list(rows.values())))
    print("\ngoals of issue 14:")
    print("\n".join(goals(rows, arguments.concurrency)))
    print()
    print_verdict(problems, log, server_errors)
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
