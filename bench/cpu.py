"""CPU time spent by each party of a phase: the server's processes, PostgreSQL, the load.

Throughput on the 2-core machine is bounded by the CPU everything spends per request, so a
phase's CPU per answer says where a goal's cost lies. ``measure`` reads cumulative CPU
times before and after:

- server: the main process and its workers (alive through the run);
- PostgreSQL: every ``postgres`` process alive at either reading, plus what the postmaster
  collected from its children that exited in between (pgbench's backends end with it);
- load: this process's waited-for children (wrk, pgbench), from ``getrusage``.

A process that starts and ends between the readings without being a child of either
is missed; on a machine running only the benchmark there is none.
"""

import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psutil  # type: ignore[import-untyped]  # no stubs in the venv


@dataclass
class CpuUse:
    """CPU seconds of each party over a phase."""

    server: float = 0.0
    postgres: float = 0.0
    load: float = 0.0
    wall: float = 0.0

    def describe(self, answers: int, unit: str = "answer") -> str:
        if answers <= 0 or self.wall <= 0:
            return f"cpu: no {unit}s"
        busy = (self.server + self.postgres + self.load) / self.wall
        return (
            f"cpu per {unit}: server {self.server / answers * 1000:.3f} ms, PostgreSQL "
            f"{self.postgres / answers * 1000:.3f} ms, load {self.load / answers * 1000:.3f} ms "
            f"({busy:.2f} cores busy on average)"
        )


def _times(process: psutil.Process, children: bool) -> float:
    try:
        times = process.cpu_times()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return 0.0
    total = float(times.user + times.system)
    if children:
        total += float(times.children_user + times.children_system)
    return total


def server_seconds(main_pid: int) -> float:
    try:
        main = psutil.Process(main_pid)
        workers = main.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0.0
    return _times(main, children=True) + sum(_times(worker, False) for worker in workers)


def postgres_seconds() -> float:
    total = 0.0
    for process in psutil.process_iter(["name"]):
        if process.info["name"] in ("postgres", "postmaster"):
            total += _times(process, children=True)
    return total


def load_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return float(usage.ru_utime + usage.ru_stime)


@contextmanager
def measure(main_pid: int) -> Iterator[CpuUse]:
    """CPU of the server (``main_pid`` and its workers), PostgreSQL and the load over the
    ``with`` block; the figures are filled in when it ends."""
    use = CpuUse()
    started = time.monotonic()
    server, postgres, load = server_seconds(main_pid), postgres_seconds(), load_seconds()
    try:
        yield use
    finally:
        use.wall = time.monotonic() - started
        use.server = server_seconds(main_pid) - server
        use.postgres = postgres_seconds() - postgres
        use.load = load_seconds() - load
