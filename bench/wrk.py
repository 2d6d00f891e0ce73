"""Load from wrk: a C client in its own process, so that the measured rate is the server's and
not a Python client's.

``run_wrk`` runs ``wrk -t T -c C -d S --latency --timeout 10s -s bench/lua/<script> <url>``;
the scripts (``bench/lua/*.lua``) take their parameters from environment variables and data
files (tokens, signed bodies) and end with one ``BENCH_WRK_RESULT <json>`` line
(``bench/lua/counters.lua``): the answers by status, summed over wrk's threads, the latency
percentiles of wrk's histogram and the script's own counters. ``BENCH_WRK`` names the binary.
"""

import json
import math
import os
import shutil
import subprocess
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

LUA = Path(__file__).resolve().parent / "lua"
MARKER = "BENCH_WRK_RESULT "
TIMEOUT = "10s"  # wrk's default of 2 s would turn a slow answer into a socket error


def wrk_binary() -> str:
    return os.environ.get("BENCH_WRK") or shutil.which("wrk") or "/usr/bin/wrk"


def wrk_version() -> str:
    completed = subprocess.run([wrk_binary(), "-v"], capture_output=True, text=True, check=False)
    return (completed.stdout + completed.stderr).strip().splitlines()[0]


@dataclass
class WrkResult:
    """What one wrk run reported; latencies in milliseconds, ``duration`` in seconds."""

    command: list[str]
    returncode: int
    output: str
    requests: int = 0
    duration: float = math.nan
    mean_ms: float = math.nan
    p50_ms: float = math.nan
    p90_ms: float = math.nan
    p99_ms: float = math.nan
    max_ms: float = math.nan
    statuses: Counter[str] = field(default_factory=Counter)
    errors: dict[str, int] = field(default_factory=dict)  # connect, read, write, timeout
    exported: dict[str, int] = field(default_factory=dict)  # the script's own counters

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not math.isnan(self.duration)

    @property
    def rate(self) -> float:
        return self.requests / self.duration if self.duration > 0 else math.nan

    def answered(self, low: int, high: int) -> int:
        """Answers with a status in [low, high)."""
        return sum(n for status, n in self.statuses.items() if low <= int(status) < high)

    def rate_of(self, low: int, high: int) -> float:
        return self.answered(low, high) / self.duration if self.duration > 0 else math.nan

    @property
    def socket_errors(self) -> int:
        return sum(self.errors.values())

    def describe(self) -> str:
        statuses = ", ".join(f"{status}: {n}" for status, n in sorted(self.statuses.items()))
        return (
            f"{self.requests} answers in {self.duration:.2f} s, {self.rate:.1f}/s; latency mean "
            f"{self.mean_ms:.2f}, p50 {self.p50_ms:.2f}, p90 {self.p90_ms:.2f}, p99 "
            f"{self.p99_ms:.2f}, max {self.max_ms:.2f} ms; statuses {{{statuses}}}; socket "
            f"errors {self.socket_errors} {self.errors if self.socket_errors else ''}; "
            f"exit {self.returncode}"
        ).rstrip()


def run_wrk(
    url: str,
    script: str,
    *,
    connections: int,
    threads: int,
    duration: float,
    environment: Mapping[str, str],
) -> WrkResult:
    """Run ``bench/lua/<script>`` against ``url`` for ``duration`` seconds (whole, at least
    1); ``environment`` holds the script's parameters (``BENCH_*``)."""
    threads = max(1, min(threads, connections))  # wrk gives each thread connections / threads
    command = [
        wrk_binary(),
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{max(1, round(duration))}s",
        "--latency",
        "--timeout",
        TIMEOUT,
        "-s",
        str(LUA / script),
        url,
    ]
    env = {**os.environ, "BENCH_LUA_DIR": str(LUA), "BENCH_THREADS": str(threads)}
    completed = subprocess.run(
        command,
        env={**env, **environment},
        capture_output=True,
        text=True,
        check=False,
        timeout=duration + 120,
    )
    result = WrkResult(command, completed.returncode, completed.stdout + completed.stderr)
    for line in completed.stdout.splitlines():
        if line.startswith(MARKER):
            _read_figures(result, json.loads(line[len(MARKER) :]))
    return result


def _read_figures(result: WrkResult, figures: dict[str, object]) -> None:
    def number(name: str) -> float:
        value = figures[name]
        return float(value) if isinstance(value, (int, float)) else math.nan

    result.requests = int(number("requests"))
    result.duration = number("duration_us") / 1e6
    result.mean_ms = number("mean_us") / 1000
    for name in ("p50", "p90", "p99", "max"):
        setattr(result, f"{name}_ms", number(f"{name}_us") / 1000)
    statuses = figures.get("statuses")
    if isinstance(statuses, dict):
        result.statuses = Counter({str(key): int(value) for key, value in statuses.items()})
    for name in ("errors", "exported"):
        values = figures.get(name)
        if isinstance(values, dict):
            setattr(result, name, {str(key): int(value) for key, value in values.items()})
