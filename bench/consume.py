"""POST /api/v1/user/tokens/consume under concurrent load, against the same SQL in pgbench.

    .venv/bin/python -m bench.consume [--users N] [--concurrency C] [--duration S]
        [--workers W] [--threads T] [--clients P]

Defaults: 20 users, concurrency 16, 20 s per phase (4 phases), 2 gthread workers x 8 threads,
2 load processes.

Setup (not timed): a fresh database, migrated and seeded; the server (granian) with
TRIAL_CREDITS=0 (every use is paid with tokens); N registered users; an admin (``flask users
create-admin``) gives each user a large balance through POST /admin/users/<id>/tokens/adjust;
no auto-reload configured; a few warm-up consumes.

Timed, one phase after the other, with a verification after each (not timed):
  A/API      C virtual users, virtual user i consuming 1 token for users[i % N] in a loop
  A/pgbench  bench/consume.pgbench with -c C: client i runs the consume's SQL for users[i % N]
  B/API      C virtual users, all consuming for users[0] (one hot balance row)
  B/pgbench  the same script, all clients on users[0]
Every consume has a fresh reference. The table at the end gives API consumes/s over pgbench tps.
"""

import argparse
import math
import sys
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.accounts import BenchUser, create_admin, grant_tokens, register_users
from bench.consume_checks import verify_phase
from bench.database import (
    postgres_version,
    query,
    sample_sessions,
    server_url,
    temporary_database,
    token_balances,
)
from bench.load import LoadResult, Recorder, run_load
from bench.options import add_common_arguments, check_counts, check_whole_seconds, server_config
from bench.pgbench import PgbenchResult, pgbench_version, run_pgbench
from bench.report import (
    display_path,
    format_report,
    load_average,
    percentile,
    print_machine,
    print_verdict,
)
from bench.server import API, log_errors, log_path, serve_app

CONSUME = "POST /user/tokens/consume"
SCRIPT = Path(__file__).resolve().parent / "consume.pgbench"
GRANT = 10_000_000  # tokens per user: far more than a run can spend (int4 balance column)
SERVER_SETTINGS = {"TRIAL_CREDITS": "0"}
ADMIN_EMAIL = "bench-admin@example.com"
ADMIN_PASSWORD = "bench-admin-password"
PGBENCH_THREADS = 2


@dataclass(frozen=True)
class VirtualUser:
    """One looping client: the user it consumes for and its reference prefix."""

    index: int
    user: BenchUser
    prefix: str  # references are <prefix><n>, n = 1, 2, ...


@dataclass
class Outcome:
    """What one virtual user saw. ``uncertain``: no answer or a 5xx (the use may or may not
    have been recorded); ``balances``: the balance each 201 answered."""

    user_id: str
    successes: int = 0
    uncertain: int = 0
    balances: list[int] = field(default_factory=list)
    anomalies: Counter[str] = field(default_factory=Counter)


async def consume_loop(recorder: Recorder, vu: VirtualUser, deadline: float) -> Outcome:
    """The timed scenario of one virtual user (runs in a load process)."""
    outcome = Outcome(vu.user.id)
    auth = {"Authorization": f"Bearer {vu.user.token}"}
    count = 0
    while time.perf_counter() < deadline:
        count += 1
        reply = await recorder.request(
            CONSUME,
            "POST",
            f"{API}/user/tokens/consume",
            json_body={"amount": 1, "reference": f"{vu.prefix}{count}"},
            headers=auth,
        )
        if reply.status == 201:
            outcome.successes += 1
            outcome.balances.append(int(reply.body["balance"]))
            if reply.body.get("source") != "tokens" or reply.body.get("charged_tokens") != 1:
                outcome.anomalies[f"201 with {reply.body}"[:120]] += 1
        elif reply.status == 0 or reply.status >= 500:
            outcome.uncertain += 1
    return outcome


# --- setup -------------------------------------------------------------------------------


def warm_up(base_url: str, users: Sequence[BenchUser], count: int) -> None:
    """``count`` consumes spread over the users, 8 at a time: the server's connection pools,
    the app's lazy imports and PostgreSQL's caches are warm before the first timed phase."""

    def consume(index: int) -> None:
        user = users[index % len(users)]
        response = requests.post(
            f"{base_url}{API}/user/tokens/consume",
            json={"amount": 1, "reference": f"warm-{index}"},
            headers={"Authorization": f"Bearer {user.token}"},
            timeout=30,
        )
        response.raise_for_status()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(consume, range(count)))


# --- phases ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    users: tuple[BenchUser, ...]  # the user of virtual user / pgbench client i: users[i % len]


@dataclass
class Figures:
    """One scenario's row of the final table (latencies in seconds)."""

    scenario: str
    api_rate: float = math.nan
    api_p50: float = math.nan
    api_p99: float = math.nan
    pgbench_tps: float = math.nan
    pgbench_average: float = math.nan
    pgbench_p50: float = math.nan
    pgbench_p99: float = math.nan


def api_phase(
    scenario: Scenario,
    base_url: str,
    database_url: str,
    arguments: argparse.Namespace,
    figures: Figures,
) -> tuple[LoadResult[Outcome], list[str]]:
    prefix = f"api-{scenario.key}-"
    vus = [
        VirtualUser(index, scenario.users[index % len(scenario.users)], f"{prefix}{index}-")
        for index in range(arguments.concurrency)
    ]
    print(f"\n{scenario.key} {scenario.title} / API (load average {load_average()})")
    sys.stdout.flush()
    before = token_balances(database_url)
    with sample_sessions(database_url) as sessions:
        load = run_load(
            consume_loop,
            base_url,
            vus,
            arguments.duration,
            processes=min(arguments.clients, arguments.concurrency),
        )
    successes = sum(outcome.successes for outcome in load.results)
    values = sorted(load.latencies.get(CONSUME, []))
    figures.api_rate = successes / load.elapsed if load.elapsed > 0 else math.nan
    figures.api_p50 = percentile(values, 50)
    figures.api_p99 = percentile(values, 99)
    print(format_report(load.latencies, load.statuses, load.elapsed, (CONSUME,)))
    print(f"  sessions: {sessions.describe()}")
    per_user: Counter[str] = Counter()
    answered: dict[str, list[int]] = {}
    anomalies: Counter[str] = Counter()
    for outcome in load.results:
        per_user[outcome.user_id] += outcome.successes
        answered.setdefault(outcome.user_id, []).extend(outcome.balances)
        anomalies.update(outcome.anomalies)
    uncertain = sum(outcome.uncertain for outcome in load.results)
    check = verify_phase(database_url, prefix, before, successes, per_user, uncertain, answered)
    print("\n".join(check.lines))
    problems = check.problems + [f"load process failure:\n{text}" for text in load.failures]
    problems += [f"{count} x {what}" for what, count in anomalies.most_common(5)]
    return load, problems


def pgbench_phase(
    scenario: Scenario,
    database_url: str,
    arguments: argparse.Namespace,
    figures: Figures,
) -> tuple[PgbenchResult, list[str]]:
    prefix = f"pgb-{scenario.key}-"
    print(f"\n{scenario.key} {scenario.title} / pgbench (load average {load_average()})")
    sys.stdout.flush()
    before = token_balances(database_url)
    with sample_sessions(database_url) as sessions:
        result = run_pgbench(
            database_url,
            SCRIPT,
            clients=arguments.concurrency,
            threads=PGBENCH_THREADS,
            duration=arguments.duration,
            variables={
                "users": "{" + ",".join(user.id for user in scenario.users) + "}",
                "nusers": str(len(scenario.users)),
                "phase": prefix,
            },
        )
    figures.pgbench_tps = result.tps
    figures.pgbench_average = result.latency_average_ms / 1000
    figures.pgbench_p50 = percentile(result.latencies, 50)
    figures.pgbench_p99 = percentile(result.latencies, 99)
    print(f"  {result.describe()}")
    print(f"  slowest statement: {result.slowest_statement()}")
    print(f"  sessions: {sessions.describe()}")
    check = verify_phase(database_url, prefix, before, result.transactions, None, 0, None)
    print("\n".join(check.lines))
    problems = list(check.problems)
    if not result.ok:
        problems.append(f"pgbench {scenario.key} did not run cleanly:\n{result.output[-3000:]}")
    return result, problems


def summary_table(rows: Sequence[Figures]) -> str:
    header = (
        f"{'scenario':<16}  {'API cons/s':>10}  {'API p50':>7}  {'API p99':>7}  "
        f"{'pgb tps':>8}  {'pgb avg':>7}  {'pgb p50':>7}  {'pgb p99':>7}  {'API/pgbench':>11}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        ratio = row.api_rate / row.pgbench_tps if row.pgbench_tps > 0 else math.nan
        lines.append(
            f"{row.scenario:<16}  {row.api_rate:>10.1f}  {row.api_p50 * 1000:>7.1f}  "
            f"{row.api_p99 * 1000:>7.1f}  {row.pgbench_tps:>8.1f}  "
            f"{row.pgbench_average * 1000:>7.2f}  {row.pgbench_p50 * 1000:>7.2f}  "
            f"{row.pgbench_p99 * 1000:>7.2f}  {ratio:>10.1%}"
        )
    lines.append(
        "(latencies in ms; API cons/s counts 201 answers; pgbench tps excludes connecting)"
    )
    return "\n".join(lines)


# --- main --------------------------------------------------------------------------------


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.consume",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_arguments(
        parser,
        concurrency_help="virtual users in flight, and pgbench clients (default 16)",
        duration_default=20,
        duration_help="timed seconds per phase (default 20)",
    )
    arguments = parser.parse_args(argv)
    check_counts(parser, arguments)
    check_whole_seconds(parser, arguments)
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    arguments.duration = float(max(1, round(arguments.duration)))  # same for API and pgbench
    config = server_config(arguments)
    log: Path = log_path("consume")
    clients = min(arguments.clients, arguments.concurrency)
    print("consume: POST /api/v1/user/tokens/consume (1 token) vs the same SQL in pgbench")
    print_machine(postgres_version(server_url()))
    print(f"  server:       {config.describe()}, TRIAL_CREDITS=0")
    print(
        f"  load:         API: {arguments.concurrency} virtual users in {clients} load processes"
        f" (asyncio + aiohttp, keep-alive); pgbench: -c {arguments.concurrency} "
        f"-j {PGBENCH_THREADS} -M prepared ({pgbench_version()}); {arguments.duration:g} s "
        "per phase"
    )
    print(f"  server log:   {display_path(log)}")
    sys.stdout.flush()

    problems: list[str] = []
    rows: list[Figures] = []
    with temporary_database() as database_url:
        with serve_app(database_url, config, log, settings=SERVER_SETTINGS) as base_url:
            started = time.perf_counter()
            admin = create_admin(database_url, base_url, ADMIN_EMAIL, ADMIN_PASSWORD)
            users = register_users(base_url, arguments.users)
            grant_tokens(base_url, admin, users, GRANT)
            warm_up(base_url, users, 2 * arguments.concurrency)
            reloads = query(database_url, "SELECT count(*) FROM auto_reload_settings")[0][0]
            print(
                f"  setup:        {len(users)} users with {GRANT} tokens each (admin adjustment),"
                f" {reloads} auto-reload settings, {2 * arguments.concurrency} warm-up consumes "
                f"({time.perf_counter() - started:.1f} s, not timed)"
            )
            scenarios = [
                Scenario("A", "many users", tuple(users)),
                Scenario("B", "one hot user", (users[0],)),
            ]
            for scenario in scenarios:
                figures = Figures(f"{scenario.key} {scenario.title}")
                rows.append(figures)
                _, api_problems = api_phase(scenario, base_url, database_url, arguments, figures)
                _, pgbench_problems = pgbench_phase(scenario, database_url, arguments, figures)
                problems += api_problems + pgbench_problems
        server_errors = log_errors(log)  # the server has stopped: its log is complete

    print()
    print(summary_table(rows))
    print()
    print_verdict(problems, log, server_errors)
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
