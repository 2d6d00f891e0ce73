"""What a benchmark run prints: the machine it ran on, the per-endpoint table, the verdict.

Figures are only comparable with the context they were taken in (cores, load average,
PostgreSQL version), so every run prints it first. Latencies are reported as nearest-rank
percentiles, in milliseconds; errors are the non-2xx answers by status (or by the client's
exception name when no answer came).
"""

import math
import os
import platform
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path


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


def print_machine(postgres_version: str) -> None:
    """The first lines of a run's header: the machine, and how busy it was before the run."""
    print(f"  machine:      {machine_summary()}; PostgreSQL {postgres_version}")
    print(
        f"  load average: {load_average()} (1/5/15 min, before the run; other work skews results)"
    )


def display_path(path: Path) -> Path:
    """``path`` relative to the working directory when it is inside it."""
    return path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path


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


def print_verdict(
    problems: Sequence[str], log: Path, server_errors: Sequence[tuple[int, str]]
) -> None:
    """The last lines of a run: OK or FAILED with the problems, then the server log's most
    frequent errors (read after the server stopped, so the log is complete)."""
    print(f"verification: {'OK' if not problems else 'FAILED'}")
    for problem in problems:
        print(f"  {problem}")
    if server_errors:
        print(f"server log ({log}) has errors, most frequent first:")
        for count, line in server_errors:
            print(f"  {count} x {line}")
