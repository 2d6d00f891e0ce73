"""Where a server worker's CPU goes during a phase: py-spy on every worker, and a summary.

``record_workers`` starts ``py-spy record --format raw`` on each worker (the server's main process's
children) for the phase's length; ``summarize`` reads the collapsed stacks ("a;b;c N") and
counts samples by their leaf frame (self time) and by library, matched on the leaf's file path.
Sampling pauses the worker (py-spy's default), so the profiled phase runs slower than the
others. py-spy needs root or ptrace rights.
"""

import re
import subprocess
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import psutil  # type: ignore[import-untyped]  # no stubs in the venv

from bench.server import ROOT

PY_SPY = ROOT / ".venv" / "bin" / "py-spy"
RATE = 250
# (bucket, substrings of the leaf frame: its file path, or a function), first match wins
BUCKETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # psycopg2's C calls release the GIL and show no frame: their caller is the leaf, and its
    # samples are the worker waiting for PostgreSQL's answer, not SQLAlchemy's own work.
    (
        "PostgreSQL round trips",
        ("do_execute (", "do_executemany (", "do_commit (", "do_ping (", "do_rollback ("),
    ),
    ("sqlalchemy", ("sqlalchemy/",)),
    ("psycopg2", ("psycopg2/", "psycopg/")),
    ("flask/werkzeug", ("flask/", "werkzeug/", "flask_jwt_extended/")),
    ("gunicorn", ("gunicorn/",)),
    ("granian", ("granian/",)),
    ("pydantic/spectree", ("pydantic/", "pydantic_core/", "spectree/")),
    ("jwt", ("jwt/",)),
    ("dependency_injector", ("dependency_injector/",)),
    ("json", ("json/", "orjson")),
    ("src/", ("src/",)),
)
# Leaf frames of threads waiting for work or I/O without py-spy seeing them idle (gthread's
# pool threads block in a queue, the main thread in select): left out of the shares.
WAITS = ("_worker (concurrent/futures/thread.py", "select (selectors.py", "wait (threading.py")
_LINE = re.compile(r"^(.*) (\d+)$")
_LINE_NUMBER = re.compile(r":\d+\)$")


def worker_pids(master_pid: int) -> list[int]:
    return sorted(int(child.pid) for child in psutil.Process(master_pid).children())


def record_workers(
    master_pid: int, directory: Path, name: str, duration: float
) -> list[tuple[Path, "subprocess.Popen[bytes]"]]:
    """Start one py-spy per worker; wait on the returned processes after the phase."""
    directory.mkdir(parents=True, exist_ok=True)
    started = []
    for pid in worker_pids(master_pid):
        output = directory / f"{name}-{pid}.txt"
        command = [
            str(PY_SPY),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, round(duration))),
            "--rate",
            str(RATE),
            "--format",
            "raw",
            "--output",
            str(output),
        ]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        started.append((output, process))
    return started


def bucket_of(frame: str) -> str:
    for bucket, needles in BUCKETS:
        if any(needle in frame for needle in needles):
            return bucket
    return "other"


def summarize(outputs: Sequence[Path], top: int = 15) -> list[str]:
    """Top functions by self samples, and the share of samples per library bucket."""
    functions: Counter[str] = Counter()
    buckets: Counter[str] = Counter()
    waiting = 0
    for output in outputs:
        if not output.exists():
            continue
        for line in output.read_text(errors="replace").splitlines():
            match = _LINE.match(line.strip())
            if not match:
                continue
            leaf = match.group(1).split(";")[-1]
            samples = int(match.group(2))
            if any(wait in leaf for wait in WAITS):
                waiting += samples
                continue
            functions[_LINE_NUMBER.sub(")", leaf)] += samples
            buckets[bucket_of(leaf)] += samples
    total = sum(buckets.values())
    if not total:
        return ["  py-spy: no samples"]
    lines = [
        f"  py-spy: {total} busy samples over {len(outputs)} workers (+{waiting} of threads "
        f"waiting for work, left out); top {top} by self samples:"
    ]
    for function, samples in functions.most_common(top):
        lines.append(f"    {samples / total:6.1%}  {function[:110]}")
    lines.append("  self samples by library (leaf frame's file):")
    for bucket, samples in buckets.most_common():
        lines.append(f"    {samples / total:6.1%}  {bucket}")
    return lines
