"""``bin/run``: the whole service on one machine, started and stopped as one.

Without ``DATABASE_URL`` it starts the embedded PostgreSQL (data in ``instance/pgdata``, kept
across restarts, on a Unix socket) and points everything at it. Then it migrates, seeds the
demo catalog, creates the admin, and runs the API (granian, src/serve.py) and one job worker
as child processes. Ctrl-C or SIGTERM stops both children (the worker finishes its running
job), then the embedded server; if either child dies, the other is stopped too and the exit
is non-zero.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from src import embedded_postgres, serve
from src.config import EMBEDDED_DATA_DIRECTORY

ROOT = Path(__file__).resolve().parent.parent
# Seconds the children get to stop after SIGTERM before they are killed; longer than the
# worker's graceful shutdown (src/jobs/worker.py) so a running job can finish.
STOP_GRACE_SECONDS = 30


def main() -> int:
    instance = Path(os.environ.get("INSTANCE_PATH") or ROOT / "instance")
    server = None
    if not os.environ.get("DATABASE_URL"):
        started = time.monotonic()
        server = embedded_postgres.start(instance / EMBEDDED_DATA_DIRECTORY)
        os.environ["DATABASE_URL"] = server.ensure_database()
        print(
            f"Embedded PostgreSQL up in {time.monotonic() - started:.2f}s ({server.data_directory})"
        )
    try:
        _prepare()
        return _serve()
    finally:
        if server is not None:
            server.stop()
            print("Embedded PostgreSQL stopped")


def _prepare() -> None:
    """Migrate, seed and create the admin; each step is idempotent."""
    admin_email = os.environ.get("ADMIN_EMAIL", "admin@example.com")
    for command in (
        ["db", "upgrade"],
        ["catalog", "seed"],
        ["users", "create-admin", admin_email],
    ):
        subprocess.run([sys.executable, "-m", "flask", *command], cwd=ROOT, check=True)


def _serve() -> int:
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "5000")
    api = _spawn(serve.command_from_environment())
    worker = _spawn(
        [
            sys.executable,
            "-m",
            "flask",
            "worker",
            "--concurrency",
            os.environ.get("WORKER_CONCURRENCY", "2"),
        ]
    )
    children = (api, worker)
    print(f"Serving http://{host}:{port}/api/v1 (OpenAPI: /api/v1/openapi.json), one job worker")

    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping and all(child.poll() is None for child in children):
        time.sleep(0.2)
    failed = [child for child in children if child.poll() not in (None, 0)]
    _stop(children)
    return 1 if failed and not stopping else 0


def _spawn(command: Sequence[str]) -> subprocess.Popen[bytes]:
    # Own process group: Ctrl-C reaches this supervisor only, which stops the children in
    # order (SIGTERM, then a grace period), instead of all of them at once.
    return subprocess.Popen(list(command), cwd=ROOT, start_new_session=True)


def _stop(children: Sequence[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        serve.sweep_process_group(child.pid)


if __name__ == "__main__":
    sys.exit(main())
