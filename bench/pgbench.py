"""Run pgbench with a custom script against a benchmark database and read its figures.

``run_pgbench`` runs ``pgbench -n -M prepared -c C -j J -T S -r -l`` (no vacuum: the script
uses the app's tables, not pgbench's own) and returns the transactions, failures, tps, average
latency, the per-transaction latencies from the ``-l`` logs (for percentiles) and the
per-statement average latencies of ``-r``. ``BENCH_PGBENCH`` names the binary (default: the
``pgbench`` on PATH, else /usr/bin/pgbench). ``PgbenchResult.describe`` and
``slowest_statement`` are the lines a benchmark prints about the run.
"""

import math
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bench.report import percentile


def pgbench_binary() -> str:
    return os.environ.get("BENCH_PGBENCH") or shutil.which("pgbench") or "/usr/bin/pgbench"


def pgbench_version() -> str:
    completed = subprocess.run(
        [pgbench_binary(), "--version"], capture_output=True, text=True, check=False
    )
    return completed.stdout.strip() or completed.stderr.strip()


@dataclass
class PgbenchResult:
    """What one pgbench run reported. ``latencies`` are per transaction, in seconds, sorted."""

    command: list[str]
    returncode: int
    output: str
    transactions: int = 0
    failed: int = 0
    tps: float = math.nan
    latency_average_ms: float = math.nan
    latencies: list[float] = field(default_factory=list)
    statements: list[tuple[float, str]] = field(default_factory=list)  # (avg ms, SQL)
    log_failures: int = 0  # transactions the -l logs mark failed or skipped

    @property
    def ok(self) -> bool:
        return (
            self.returncode == 0
            and self.failed == 0
            and self.log_failures == 0
            and self.transactions > 0
        )

    def describe(self) -> str:
        """Transactions, tps, latencies in ms (average and percentiles), failures, exit."""
        p50, p90, p99, top = (percentile(self.latencies, p) * 1000 for p in (50, 90, 99, 100))
        return (
            f"{self.transactions} transactions, {self.tps:.1f} tps; latency avg "
            f"{self.latency_average_ms:.2f}, p50 {p50:.2f}, p90 {p90:.2f}, p99 {p99:.2f}, "
            f"max {top:.2f} ms; failed {self.failed}"
            f"{f' (+{self.log_failures} in logs)' if self.log_failures else ''}; "
            f"exit {self.returncode}"
        )

    def slowest_statement(self) -> str:
        """The statement with the highest average latency (``-r``), shortened."""
        average, statement = max(self.statements, default=(math.nan, "?"))
        return f"{average:.3f} ms avg, {_shorten(statement)}"


def _shorten(statement: str, width: int = 60) -> str:
    statement = " ".join(statement.split())
    return statement if len(statement) <= width else statement[: width - 3] + "..."


_FIGURES = {
    "transactions": re.compile(r"number of transactions actually processed: (\d+)"),
    "failed": re.compile(r"number of failed transactions: (\d+)"),
    "latency": re.compile(r"latency average = ([\d.]+) ms"),
    "tps": re.compile(r"tps = ([\d.]+) \(without initial connection time\)"),
}
# "   0.123           0  UPDATE ..." under "statement latencies in milliseconds and failures:"
_STATEMENT = re.compile(r"^\s+([\d.]+)\s+\d+\s+(\S.*)$")


def run_pgbench(
    database_url: str,
    script: Path,
    *,
    clients: int,
    threads: int,
    duration: float,
    variables: Mapping[str, str],
) -> PgbenchResult:
    """Run ``script`` for ``duration`` seconds (rounded, at least 1) with ``clients``
    connections on ``threads`` threads; ``variables`` become ``-D name=value``."""
    with tempfile.TemporaryDirectory(prefix="bench-pgbench-") as logs:
        prefix = Path(logs) / "tx"
        command = [
            pgbench_binary(),
            "-n",
            "-M",
            "prepared",
            "-c",
            str(clients),
            "-j",
            str(max(1, min(threads, clients))),
            "-T",
            str(max(1, round(duration))),
            "-r",
            "-l",
            f"--log-prefix={prefix}",
            "-f",
            str(script),
            *(f"-D{name}={value}" for name, value in variables.items()),
            database_url,
        ]
        # The app's sessions plan prepared statements once (src/config.py session_options);
        # pgbench's prepared statements get the same setting.
        env = {**os.environ, "PGOPTIONS": "-c plan_cache_mode=force_generic_plan"}
        completed = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
        output = completed.stdout + completed.stderr
        result = PgbenchResult(command, completed.returncode, output)
        _parse_output(result, completed.stdout)
        latencies, failures = _read_logs(Path(logs))
    result.latencies = sorted(latencies)
    result.log_failures = failures
    return result


def _parse_output(result: PgbenchResult, stdout: str) -> None:
    if match := _FIGURES["transactions"].search(stdout):
        result.transactions = int(match.group(1))
    if match := _FIGURES["failed"].search(stdout):
        result.failed = int(match.group(1))
    if match := _FIGURES["latency"].search(stdout):
        result.latency_average_ms = float(match.group(1))
    if match := _FIGURES["tps"].search(stdout):
        result.tps = float(match.group(1))
    lines = stdout.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("statement latencies in milliseconds"):
            for statement in lines[index + 1 :]:
                if match := _STATEMENT.match(statement):
                    result.statements.append((float(match.group(1)), match.group(2).strip()))
            break


def _read_logs(directory: Path) -> tuple[list[float], int]:
    """Per-transaction lines: ``client_id transaction_no time script_no time_epoch time_us
    [...]``, ``time`` in microseconds, or ``failed``/``skipped``."""
    latencies: list[float] = []
    failures = 0
    for log in sorted(directory.glob("tx.*")):
        for line in log.read_text().splitlines():
            fields = line.split()
            if len(fields) < 3:
                continue
            if fields[2].isdigit():
                latencies.append(int(fields[2]) / 1e6)
            else:
                failures += 1
    return latencies, failures
