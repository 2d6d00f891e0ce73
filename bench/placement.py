"""Which server worker holds each of the load's connections, sampled while a phase runs.

wrk opens its connections once and keeps them for the phase. Each goes to whichever granian
worker accepts it first, so 4 connections on 2 workers land 2 + 2, 3 + 1 or 4 + 0. The split,
not only the app, decides the 4-connection phase's p99: a worker with 3 connections makes
each request wait for two others, while the other worker idles (bench/README.md, eighth
and ninth sessions). Printing the split beside each figure makes a run readable.
"""

import threading
from types import TracebackType

import psutil  # type: ignore[import-untyped]  # no stubs in the venv


class ConnectionPlacement:
    """``with ConnectionPlacement(master_pid, port, after=3.0) as placement:`` around a load
    run; ``placement.split`` is the count of established connections to ``port`` held by
    each worker of ``master_pid``, largest first, read ``after`` seconds in."""

    def __init__(self, master_pid: int, port: int, after: float) -> None:
        self._master_pid = master_pid
        self._port = port
        self._timer = threading.Timer(after, self._sample)
        self.split: tuple[int, ...] | None = None

    def __enter__(self) -> "ConnectionPlacement":
        self._timer.start()
        return self

    def __exit__(
        self,
        error_type: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._timer.cancel()
        self._timer.join()

    def describe(self) -> str:
        if self.split is None:
            return "connections per worker: not sampled"
        return "connections per worker: " + " + ".join(str(count) for count in self.split)

    def _sample(self) -> None:
        counts = []
        try:
            for worker in psutil.Process(self._master_pid).children():
                connections = worker.net_connections(kind="tcp")
                counts.append(
                    sum(
                        1
                        for connection in connections
                        if connection.status == psutil.CONN_ESTABLISHED
                        and connection.laddr
                        and connection.laddr.port == self._port
                    )
                )
        except psutil.Error:
            return  # a worker gone mid-phase: the phase reports its own errors
        self.split = tuple(sorted(counts, reverse=True))
