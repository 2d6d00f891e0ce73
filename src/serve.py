"""``python -m src.serve``: the HTTP server, granian, serving ``src.app:create_app``.

One definition of how the API is served, used by bin/run, the Docker image, compose, the
end-to-end tests and the benchmarks, so what is tested and measured is what runs.

Why granian and these settings (bench/README.md, "Server model"): on the 2-core benchmark
machine the app is CPU-bound once a consume is one statement, and granian's Rust HTTP layer
(keep-alive, no per-connection Python work) read 1.4-1.8x the balances per second of
gunicorn's best setup (2 sync workers) and consumed 1.1-1.2x as fast. One process per core,
one blocking thread each: more threads only contend for the GIL.

What gunicorn did and granian does instead:
- a worker that dies (``kill -9``, a crash) is respawned (``--respawn-failed-workers``); one
  that crashes twice within 5.5 s makes granian exit, for a supervisor to restart;
- SIGTERM lets the running requests finish; a worker still busy after STOP_GRACE_SECONDS is
  killed (``--workers-kill-timeout``);
- no worker timeout: nothing kills a slow request. Every wait a request makes has its own
  limit (pool, statement, lock, Stripe; src/config.py), as the job worker's always had.

Variables: HOST (127.0.0.1), PORT (5000), WEB_CONCURRENCY (worker processes, 2), ACCESS_LOG
("true": one line per request on stdout).
"""

import os
import signal
import sys

# Seconds a worker gets to finish its requests after SIGTERM before it is killed; shorter
# than bin/run's own grace (src/local_stack.py), so the server stops by itself.
STOP_GRACE_SECONDS = 20
# The pause of a planned respawn (lifetime, reload); a failed worker is replaced at once.
RESPAWN_INTERVAL_SECONDS = 1.0


def command(
    host: str,
    port: int,
    workers: int,
    access_log: bool = True,
    blocking_threads: int = 1,
    factory: str = "src.app:create_app",
) -> list[str]:
    """The granian command line serving the app factory (``blocking_threads`` per worker: the
    benchmarks measure other counts, and bench/stack_floor.py serves its floor apps with
    another ``factory``; everything else serves the API with one thread)."""
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--factory",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--blocking-threads",
        str(blocking_threads),
        "--respawn-failed-workers",
        "--respawn-interval",
        str(RESPAWN_INTERVAL_SECONDS),
        "--workers-kill-timeout",
        str(STOP_GRACE_SECONDS),
        "--log-level",
        "info",
        *(["--access-log"] if access_log else []),
        factory,
    ]


def command_from_environment() -> list[str]:
    return command(
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "5000")),
        workers=int(os.environ.get("WEB_CONCURRENCY", "2")),
        access_log=os.environ.get("ACCESS_LOG", "true").lower() == "true",
    )


def sweep_process_group(group: int) -> None:
    """Kill whatever is left in a stopped server's process group (the server was started as
    its group's leader). granian can leave a worker behind when it shuts down while that
    worker is still booting (one it was respawning, or one started just before), and such a
    worker would keep the port and its database connections."""
    try:
        os.killpg(group, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # the group is empty: nothing was left


def main() -> None:
    arguments = command_from_environment()
    # exec: the server takes this process's place, so signals and the exit status are its own.
    os.execv(arguments[0], arguments)


if __name__ == "__main__":
    main()
