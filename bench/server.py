"""Running the app for a benchmark: its HTTP server on loopback, and the ``flask`` CLI.

Both get the same environment (``APP_SETTINGS``: production mode with explicit secrets, cheap
Argon2), so that what the benchmark measures is the production configuration minus the cost
of password hashing. ``serve_app`` starts the server (granian as bin/run serves it, or
gunicorn to compare) on a free port and waits for the health endpoint; ``log_errors`` reads
the most frequent exceptions out of its log afterwards.

The benchmarks talk to the app only over HTTP, the CLI and SQL. The one import from ``src`` is
``src.serve``'s command line (no app code), so a benchmark serves what bin/run serves.
"""

import os
import re
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import requests

from src import serve

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"  # git-ignored: server logs of the runs
API = "/api/v1"

# What the served app and the CLI steps get. APP_ENV=production: the app refuses to start
# without its secrets, so they are given explicitly. Argon2 is made cheap so that registration
# does not dominate; LOG_LEVEL stays at the production default (the audit log is real work).
APP_SETTINGS: dict[str, str] = {
    "APP_ENV": "production",
    "SECRET_KEY": "bench-secret-key-" + "x" * 16,
    "JWT_SECRET_KEY": "bench-jwt-secret-key-with-32-bytes!!",
    "PAYMENT_WEBHOOK_SECRET": "whsec_bench_generic_webhook_secret",
    "PASSWORD_HASH_TIME_COST": "1",
    "PASSWORD_HASH_MEMORY_KIB": "1024",
    "PASSWORD_HASH_PARALLELISM": "1",
    "LOG_LEVEL": "INFO",
    # Rate limits on, as in production (the limiter runs on every request, so its cost is
    # part of a request's), but too high to shape a benchmark's load.
    "RATELIMIT_ENABLED": "true",
    **{
        f"RATELIMIT_{name}": "1000000/minute"
        for name in ("LOGIN", "REGISTER", "PAYMENTS", "SERVICE")
    },
}
WEBHOOK_SECRET = APP_SETTINGS["PAYMENT_WEBHOOK_SECRET"]


def app_env(database_url: str, settings: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of every app process: ours, overridden by the benchmark's settings
    (``APP_SETTINGS``, then a benchmark's own ``settings``, e.g. ``{"TRIAL_CREDITS": "0"}``)."""
    return {**os.environ, **APP_SETTINGS, **(settings or {}), "DATABASE_URL": database_url}


def flask_cli(database_url: str, *arguments: str, settings: Mapping[str, str] | None = None) -> str:
    """Run ``flask --app src.app <arguments>`` against the database; return its output."""
    completed = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "src.app", *arguments],
        cwd=ROOT,
        env=app_env(database_url, settings),
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"flask {' '.join(arguments)} failed ({completed.returncode}):\n"
            f"{completed.stdout}{completed.stderr}"
        )
    return completed.stdout.strip()


@dataclass(frozen=True)
class ServerConfig:
    """The server and its worker model.

    The default is what bin/run serves (src/serve.py): granian, 2 worker processes (one per
    core) with one blocking thread each, the fastest setup measured on the 2-core benchmark
    machine (bench/README.md, "Server model"). "gunicorn" (sync workers, or gthread when
    ``threads`` > 1) and "gunicorn-gthread" (gthread even with one thread: keep-alive without
    threads) are kept to measure the server choice again.
    """

    workers: int = 2
    threads: int = 1  # granian's blocking threads per worker, or gunicorn's threads
    keepalive: int | None = None  # gunicorn --keep-alive seconds; None: gunicorn's default
    server: str = "granian"

    @property
    def worker_class(self) -> str:
        return "gthread" if self.threads > 1 or self.server == "gunicorn-gthread" else "sync"

    def describe(self) -> str:
        if self.server == "granian":
            return f"granian {self.workers} workers x {self.threads} blocking threads (keep-alive)"
        if self.worker_class == "sync":
            return f"gunicorn {self.workers} sync workers (no keep-alive: one connection/request)"
        return f"gunicorn {self.workers} gthread workers x {self.threads} threads (keep-alive)"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def log_path(name: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    return RESULTS / f"{name}-{datetime.now():%Y%m%d-%H%M%S}-server.log"


def _wait_until_up(url: str, process: "subprocess.Popen[bytes]", log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer {url} in {timeout}s:\n{log.read_text()}")


@dataclass(frozen=True)
class Served:
    """A running server: where to send requests, and its main process's pid (its children are
    the workers, for a profiler to attach to)."""

    base_url: str
    pid: int


@contextmanager
def serve_app(
    database_url: str,
    config: ServerConfig,
    log: Path,
    timeout: float = 60,
    settings: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """Serve the app on a free loopback port; yield the base URL (no /api/v1).

    ``settings`` are environment variables on top of ``APP_SETTINGS``. Only the error log is
    written (to ``log``): an access log would be client-side work the app does not do in
    production behind a proxy that logs.
    """
    with serve_app_process(database_url, config, log, timeout, settings) as served:
        yield served.base_url


@contextmanager
def serve_app_process(
    database_url: str,
    config: ServerConfig,
    log: Path,
    timeout: float = 60,
    settings: Mapping[str, str] | None = None,
    factory: str = "src.app:create_app",
) -> Iterator[Served]:
    """``serve_app``, yielding the master's pid with the base URL (granian serves another
    app's ``factory`` too: bench/stack_floor.py's floor apps)."""
    port = free_port()
    command = (
        _granian_command(config, port, factory)
        if config.server == "granian"
        else [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(config.workers),
            "--worker-class",
            config.worker_class,
            "--threads",
            str(config.threads),
            *(["--keep-alive", str(config.keepalive)] if config.keepalive is not None else []),
            "--error-logfile",
            "-",
            f"{factory}()",
        ]
    )
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=app_env(database_url, settings),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{base_url}{API}/health", process, log, timeout)
        yield Served(base_url, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _granian_command(config: ServerConfig, port: int, factory: str) -> list[str]:
    """bin/run's server (src/serve.py) without its access log: the log would be work the app
    leaves to a proxy in front of it in production."""
    return serve.command(
        "127.0.0.1",
        port,
        config.workers,
        access_log=False,
        blocking_threads=config.threads,
        factory=factory,
    )


EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Timeout|Exit)\b")
ALERT_WORDS = ("[CRITICAL]", "WORKER TIMEOUT", "Worker exited", "was sent SIGKILL")


def log_errors(log: Path, limit: int = 12) -> list[tuple[int, str]]:
    """The most frequent exception lines (and server alerts) of a server log, with counts."""
    if not log.exists():
        return []
    counts: Counter[str] = Counter()
    for line in log.read_text(errors="replace").splitlines():
        if EXCEPTION_LINE.match(line) or any(word in line for word in ALERT_WORDS):
            counts[line[:240]] += 1
    return [(count, line) for line, count in counts.most_common(limit)]
