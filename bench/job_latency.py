"""How long a job waits between the commit that defers it and the start of its run.

A real ``flask worker`` (a separate process) serves a fresh database; this process commits
jobs one at a time through the app's own ``JobQueue`` (the path a command takes), at a steady
pace, and the latency of each is read from procrastinate's own event log: the ``deferred``
event (written in the committing transaction) to the ``started`` event (written by the worker
when it takes the job). The task is the real ``auto_reload.charge`` for a user without
auto-reload: the dispatcher runs its command, which does nothing else. It prints figures and
asserts nothing.

    python -m bench.job_latency [--jobs 300] [--pace-ms 20] [--concurrency 2]
"""

import argparse
import subprocess
import sys
import time
import uuid
from pathlib import Path

from bench.database import postgres_version, query, server_url, temporary_database
from bench.report import percentile, print_machine
from bench.server import APP_SETTINGS, ROOT, app_env
from src.app import create_app
from src.extensions import db
from src.jobs.names import AUTO_RELOAD_TASK


def wait_for_worker(database_url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if query(database_url, "SELECT count(*) FROM procrastinate_workers")[0][0]:
            return
        time.sleep(0.2)
    raise RuntimeError("the worker did not register")


def defer_jobs(database_url: str, count: int, pace_seconds: float) -> None:
    app = create_app({**APP_SETTINGS, "DATABASE_URL": database_url})
    with app.app_context():
        queue = app.container.jobs.job_queue()
        for _ in range(count):
            queue.enqueue(AUTO_RELOAD_TASK, user_id=uuid.uuid4())
            db.session.commit()
            time.sleep(pace_seconds)


def latencies_ms(database_url: str) -> list[float]:
    rows = query(
        database_url,
        "SELECT EXTRACT(EPOCH FROM (s.at - d.at)) * 1000 FROM procrastinate_events d "
        "JOIN procrastinate_events s ON s.job_id = d.job_id AND s.type = 'started' "
        "JOIN procrastinate_jobs j ON j.id = d.job_id "
        "WHERE d.type = 'deferred' AND j.task_name = %s",
        (AUTO_RELOAD_TASK,),
    )
    return sorted(float(row[0]) for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--pace-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=2)
    arguments = parser.parse_args()
    print_machine(postgres_version(server_url()))
    with temporary_database() as database_url:
        log = Path(ROOT, "bench", "results", "job-latency-worker.log")
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as output:
            worker = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "flask",
                    "worker",
                    "--concurrency",
                    str(arguments.concurrency),
                ],
                cwd=ROOT,
                env=app_env(database_url),
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for_worker(database_url)
            defer_jobs(database_url, arguments.jobs, arguments.pace_ms / 1000)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(latencies_ms(database_url)) < arguments.jobs:
                time.sleep(0.2)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        values = latencies_ms(database_url)
    print(
        f"jobs {len(values)}/{arguments.jobs}, one commit every {arguments.pace_ms:g} ms, "
        f"worker concurrency {arguments.concurrency}"
    )
    print(
        "enqueue (commit) to start: "
        f"p50 {percentile(values, 50):.1f} ms, p90 {percentile(values, 90):.1f} ms, "
        f"p99 {percentile(values, 99):.1f} ms, max {values[-1] if values else float('nan'):.1f} ms"
    )


if __name__ == "__main__":
    main()
