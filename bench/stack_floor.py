"""Issue 14's goals against the floor of the stack: the rate the design card's parts reach with
nothing of the API's own work on them, next to pgbench, in one run.

    .venv/bin/python -m bench.stack_floor [--users N] [--duration S] [--concurrency C]
        [--workers W] [--threads T] [--clients T]

Why: the goals are rates relative to pgbench (or absolute rates) on whatever machine runs
them. When even a floor app misses a goal on this machine, no change to the API can meet it
here with these parts; when the floor meets it and the API does not, the difference is the
API's own work, and worth cutting.

The floor apps (bench/floor_app.py), each served by granian exactly as bin/run serves the API
(2 workers x 1 blocking thread by default), on the pgbench reference tables of N accounts:

  wsgi       a bare WSGI callable, PyJWT, psycopg2: Python's floor under granian
  flask      Flask, SQLAlchemy Core, the token verified once by PyJWT: the design card's
             parts at their cheapest, no feature of the API
  flask-jwt  the same with flask-jwt-extended verifying the token as documented (it decodes
             each token several times; the API caches verified tokens instead)

Phases per app, loaded by wrk (bench/lua/consume.lua and get.lua, the scripts money_paths
sends the API): consume over N accounts and on one, at C connections; balance reads at C and
at 4. Then pgbench's deduct and read over the same tables, as money_paths runs them. After each
consume phase the ledger entries it added must match the 201 answers (up to one in flight per
connection at wrk's deadline), and every balance must still equal its ledger: the exit status
is 1 otherwise.
"""

import argparse
import math
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench import cpu
from bench.database import postgres_version, query, server_url, temporary_database
from bench.floor_app import flask_floor
from bench.money_setup import create_deduct_tables
from bench.options import add_common_arguments, check_counts, check_whole_seconds, server_config
from bench.pgbench import pgbench_version, run_pgbench
from bench.report import load_average, percentile, print_machine
from bench.server import APP_SETTINGS, log_path, serve_app_process
from bench.wrk import run_wrk, wrk_version

BENCH = Path(__file__).resolve().parent
GRANT = 10_000_000
LATENCY_CONNECTIONS = 4
PGBENCH_THREADS = 2
KINDS = ("wsgi", "flask", "flask-jwt")
PHASES = ("consume many", "consume hot", "read", "read p99")


@dataclass
class Figure:
    rate: float = math.nan
    p99: float = math.nan
    server_ms: float = math.nan  # CPU per answer of the floor's processes


@dataclass
class Table:
    figures: dict[tuple[str, str], Figure] = field(default_factory=dict)  # (phase, party)
    problems: list[str] = field(default_factory=list)


def account_id(k: int) -> str:
    """The uuid pgbench's scripts compute for account k (bench/money_setup.py,
    ``ACCOUNT_ID_SQL``)."""
    return f"00000000-0000-4000-8000-{k:012d}"


def write_tokens(path: Path, accounts: int, database_url: str) -> None:
    """One access token per account, as flask-jwt-extended issues them (both floors take
    them: HS256 with ``sub`` and ``exp``)."""
    from flask_jwt_extended import create_access_token

    app = flask_floor(database_url, APP_SETTINGS["JWT_SECRET_KEY"])
    with app.app_context():
        lines = [f"{create_access_token(identity=account_id(k))}\n" for k in range(1, accounts + 1)]
    path.write_text("".join(lines))


def ledger_state(database_url: str) -> tuple[int, int]:
    """(ledger entries, accounts whose balance is not GRANT + their ledger's sum)."""
    entries = query(database_url, "SELECT count(*) FROM bench_deduct_ledger")[0][0]
    broken = query(
        database_url,
        "SELECT count(*) FROM bench_deduct_balances b LEFT JOIN (SELECT user_id, sum(amount) AS s "
        "FROM bench_deduct_ledger GROUP BY user_id) l USING (user_id) "
        f"WHERE b.balance <> {GRANT} + COALESCE(l.s, 0)",
    )[0][0]
    return int(entries), int(broken)


def floor_phases(
    kind: str, database_url: str, arguments: argparse.Namespace, files: Path, table: Table
) -> None:
    settings = {
        "BENCH_FLOOR_KIND": kind,
        "BENCH_FLOOR_DATABASE_URL": database_url,
        "BENCH_FLOOR_JWT_SECRET": APP_SETTINGS["JWT_SECRET_KEY"],
    }
    every, first = files / "every.tokens", files / "first.tokens"
    config = server_config(arguments)
    log = log_path(f"stack_floor-{kind}")
    with serve_app_process(
        database_url, config, log, settings=settings, factory="bench.floor_app:create_app"
    ) as served:
        loads = [
            ("consume many", "consume.lua", arguments.concurrency, every),
            ("consume hot", "consume.lua", arguments.concurrency, first),
            ("read", "get.lua", arguments.concurrency, every),
            ("read p99", "get.lua", LATENCY_CONNECTIONS, every),
        ]
        # Connections, prepared plans and imports, not timed.
        run_wrk(
            served.base_url,
            "get.lua",
            connections=arguments.concurrency,
            threads=arguments.clients,
            duration=1,
            environment={"BENCH_TOKENS": str(every), "BENCH_PATH": "/api/v1/user/tokens/balance"},
        )
        for phase, script, connections, tokens in loads:
            print(f"\n{kind} floor, {phase}, {connections} conn (load average {load_average()})")
            entries_before, _ = ledger_state(database_url)
            with cpu.measure(served.pid) as use:
                result = run_wrk(
                    served.base_url,
                    script,
                    connections=connections,
                    threads=arguments.clients,
                    duration=arguments.duration,
                    environment={
                        "BENCH_TOKENS": str(tokens),
                        "BENCH_PATH": "/api/v1/user/tokens/balance",
                        "BENCH_PREFIX": f"floor-{kind}-{phase.replace(' ', '-')}-",
                    },
                )
            print(f"  wrk: {result.describe()}")
            print(f"  {use.describe(result.requests)}")
            good = "201" if script == "consume.lua" else "200"
            answered = result.statuses[good]
            if not result.ok or answered != result.requests:
                table.problems.append(f"{kind} {phase}: {result.describe()}")
            if script == "consume.lua":
                entries_after, broken = ledger_state(database_url)
                added = entries_after - entries_before
                print(f"  check: {added} ledger entries for {answered} answers 201; {broken} off")
                if not answered <= added <= answered + connections or broken:
                    table.problems.append(f"{kind} {phase}: {added} entries, {answered} answers")
            table.figures[(phase, kind)] = Figure(
                result.rate_of(200, 300), result.p99_ms, use.server / max(result.requests, 1) * 1e3
            )


def pgbench_phases(
    database_url: str, arguments: argparse.Namespace, accounts: int, table: Table
) -> None:
    runs = [
        ("consume many", "deduct.pgbench", arguments.concurrency, accounts),
        ("consume hot", "deduct.pgbench", arguments.concurrency, 1),
        ("read", "balance_read.pgbench", arguments.concurrency, accounts),
        ("read p99", "balance_read.pgbench", LATENCY_CONNECTIONS, accounts),
    ]
    for phase, script, clients, users in runs:
        print(f"\npgbench, {phase}, {clients} clients (load average {load_average()})")
        result = run_pgbench(
            database_url,
            BENCH / script,
            clients=clients,
            threads=PGBENCH_THREADS,
            duration=arguments.duration,
            variables={"nusers": str(users)},
        )
        print(f"  pgbench: {result.describe()}")
        if not result.ok:
            table.problems.append(f"pgbench {phase}: {result.output[-1000:]}")
        table.figures[(phase, "pgbench")] = Figure(
            result.tps, percentile(result.latencies, 99) * 1000
        )


def report(table: Table, connections: int) -> list[str]:
    parties = (*KINDS, "pgbench")
    head = f"{'phase':<14}" + "".join(f"{party + ' /s':>14}{'p99':>8}" for party in parties)
    lines = [head, "-" * len(head)]
    for phase in PHASES:
        cells = "".join(
            f"{figure.rate:>14.1f}{figure.p99:>8.2f}"
            for figure in (table.figures.get((phase, party), Figure()) for party in parties)
        )
        lines.append(f"{phase:<14}{cells}")
    lines.append("(2xx answers or transactions per second; p99 in ms)")
    lines.append("")
    head = f"{'phase':<14}" + "".join(f"{kind:>12}" for kind in KINDS)
    lines += ["server CPU per answer (ms)", head, "-" * len(head)]
    for phase in PHASES:
        cells = "".join(
            f"{table.figures.get((phase, kind), Figure()).server_ms:>12.3f}" for kind in KINDS
        )
        lines.append(f"{phase:<14}{cells}")
    lines.append("\nissue 14's goals, met by the floor itself?")
    pgbench = {phase: table.figures.get((phase, "pgbench"), Figure()) for phase in PHASES}
    for kind in KINDS:
        figures = {phase: table.figures.get((phase, kind), Figure()) for phase in PHASES}
        checks = [
            (f"{phase} >= 0.5x", figures[phase].rate / pgbench[phase].rate, 0.5, ".1%")
            for phase in ("consume many", "consume hot")
        ]
        checks.append((f"reads >= 3,000/s at {connections}", figures["read"].rate, 3000, ".0f"))
        verdicts = [
            f"{what} {'yes' if value >= bound else 'NO'} ({value:{spec}})"
            for what, value, bound, spec in checks
        ]
        p99 = figures["read p99"].p99
        verdicts.append(f"p99 < 2 ms at 4 {'yes' if p99 < 2 else 'NO'} ({p99:.2f} ms)")
        lines.append(f"  {kind:<10} " + "; ".join(verdicts))
    return lines


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.stack_floor",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_arguments(
        parser,
        concurrency_help="wrk connections and pgbench clients (16)",
        duration_default=6,
        duration_help="timed seconds per phase (default 6)",
    )
    parser.set_defaults(users=1000)
    arguments = parser.parse_args(argv)
    check_counts(parser, arguments)
    check_whole_seconds(parser, arguments)
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    print("stack_floor: the parts' floor (no feature of the API) vs pgbench, one run")
    print_machine(postgres_version(server_url()))
    print(
        f"  server:       {server_config(arguments).describe()}; accounts {arguments.users}; "
        f"{wrk_version()}, {arguments.clients} threads; {pgbench_version()}; "
        f"{arguments.duration:g} s/phase"
    )
    table = Table()
    with temporary_database() as database_url, tempfile.TemporaryDirectory() as scratch:
        files = Path(scratch)
        create_deduct_tables(database_url, arguments.users, GRANT)
        write_tokens(files / "every.tokens", arguments.users, database_url)
        (files / "first.tokens").write_text((files / "every.tokens").read_text().split("\n")[0])
        for kind in KINDS:
            floor_phases(kind, database_url, arguments, files, table)
        pgbench_phases(database_url, arguments, arguments.users, table)
    print()
    print("\n".join(report(table, arguments.concurrency)))
    if table.problems:
        print("\nPROBLEMS:\n" + "\n".join(table.problems))
        return 1
    print("\nverification: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
