"""The load driver: virtual users in separate load processes, every request's latency recorded.

The load runs in spawned processes (separate interpreters from the server and from the
benchmark's own process), each with asyncio + aiohttp on one keep-alive session, so that the
client's CPU work is spread over processes rather than serialised behind one GIL.

A benchmark provides a module-level async ``scenario(recorder, virtual_user, deadline)`` (it is
pickled into the load processes) that sends through ``recorder.request(label, ...)`` and
returns what the benchmark needs to verify afterwards; ``run_load`` runs it once per virtual
user and merges the latencies, statuses and results of all processes into a ``LoadResult``.
"""

import asyncio
import json
import multiprocessing
import time
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import aiohttp


@dataclass(frozen=True)
class Reply:
    """What one request gave: ``status`` 0 and ``error`` set when no HTTP answer came."""

    status: int
    body: Any
    error: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Recorder:
    """Sends requests on one keep-alive session and records each latency under a label."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self._session = session
        self._base_url = base_url
        self.latencies: dict[str, list[float]] = {}
        self.statuses: dict[str, Counter[str]] = {}

    async def request(
        self,
        label: str,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """The latency runs from sending until the whole body is read (time.perf_counter)."""
        started = time.perf_counter()
        try:
            async with self._session.request(
                method,
                self._base_url + path,
                json=json_body,
                data=data,
                headers=dict(headers or {}),
            ) as response:
                raw = await response.read()
                status = response.status
            reply = Reply(status, _decode(raw))
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            reply = Reply(0, None, type(error).__name__)
        elapsed = time.perf_counter() - started
        self.latencies.setdefault(label, []).append(elapsed)
        self.statuses.setdefault(label, Counter())[reply.error or str(reply.status)] += 1
        return reply


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode("utf-8", errors="replace")


ArgT = TypeVar("ArgT")
ResultT = TypeVar("ResultT")

# One virtual user: it loops until the deadline (a time.perf_counter value of its process) and
# returns what the benchmark needs to verify afterwards. Must be a module-level function:
# it is pickled into the load processes.
Scenario = Callable[[Recorder, ArgT, float], Awaitable[ResultT]]


@dataclass
class LoadResult(Generic[ResultT]):
    """Everything the load processes measured, merged. ``results`` holds what each virtual user
    returned, in virtual-user order; one that raised is left out and its traceback is in
    ``failures``."""

    latencies: dict[str, list[float]]
    statuses: dict[str, Counter[str]]
    results: list[ResultT]
    elapsed: float
    failures: list[str] = field(default_factory=list)


@dataclass
class _ProcessResult(Generic[ResultT]):
    index: int
    latencies: dict[str, list[float]]
    statuses: dict[str, Counter[str]]
    results: list[ResultT | None]
    elapsed: float
    failures: list[str]


async def _drive(
    scenario: Scenario[ArgT, ResultT], base_url: str, users: Sequence[ArgT], duration: float
) -> tuple[Recorder, list[ResultT | None], float, list[str]]:
    connector = aiohttp.TCPConnector(limit=len(users), ttl_dns_cache=None)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        recorder = Recorder(session, base_url)
        started = time.perf_counter()
        deadline = started + duration
        outcomes = await asyncio.gather(
            *(scenario(recorder, user, deadline) for user in users), return_exceptions=True
        )
        elapsed = time.perf_counter() - started
    results: list[ResultT | None] = []
    failures: list[str] = []
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            failures.append("".join(traceback.format_exception(outcome)))
            results.append(None)
        else:
            results.append(outcome)
    return recorder, results, elapsed, failures


def _load_process(
    index: int,
    scenario: Scenario[ArgT, ResultT],
    base_url: str,
    users: Sequence[ArgT],
    duration: float,
    start: Any,
    output: Any,
) -> None:
    """One load process: wait for the others, drive its share of virtual users, report."""
    try:
        start.wait(timeout=120)
        recorder, results, elapsed, failures = asyncio.run(
            _drive(scenario, base_url, users, duration)
        )
        output.put(
            _ProcessResult(index, recorder.latencies, recorder.statuses, results, elapsed, failures)
        )
    except BaseException:  # noqa: BLE001 - the parent must hear about it, not hang
        output.put(
            _ProcessResult(index, {}, {}, [None] * len(users), 0.0, [traceback.format_exc()])
        )


def run_load(
    scenario: Scenario[ArgT, ResultT],
    base_url: str,
    users: Sequence[ArgT],
    duration: float,
    processes: int = 2,
) -> LoadResult[ResultT]:
    """Run ``scenario`` once per virtual user, spread over ``processes`` load processes
    (spawned: separate interpreters from the server and from this one), all starting together.

    ``elapsed`` is the longest process's time from start until its last virtual user returned
    (virtual users finish the iteration they are in when the deadline passes).
    """
    context = multiprocessing.get_context("spawn")
    count = max(1, min(processes, len(users)))
    shares = [list(users[index::count]) for index in range(count)]
    start = context.Barrier(count)
    output = context.Queue()
    workers = [
        context.Process(
            target=_load_process,
            args=(index, scenario, base_url, share, duration, start, output),
            name=f"bench-load-{index}",
        )
        for index, share in enumerate(shares)
    ]
    for worker in workers:
        worker.start()
    collected: list[_ProcessResult[ResultT]] = []
    try:
        for _ in workers:
            collected.append(output.get(timeout=duration + 300))
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.terminate()
                worker.join()
    return _merge(collected, shares)


def _merge(
    collected: Sequence[_ProcessResult[ResultT]], shares: Sequence[Sequence[Any]]
) -> LoadResult[ResultT]:
    latencies: dict[str, list[float]] = {}
    statuses: dict[str, Counter[str]] = {}
    failures: list[str] = []
    per_process: dict[int, list[ResultT | None]] = {}
    for part in collected:
        for label, values in part.latencies.items():
            latencies.setdefault(label, []).extend(values)
        for label, counts in part.statuses.items():
            statuses.setdefault(label, Counter()).update(counts)
        failures.extend(part.failures)
        per_process[part.index] = part.results
    # Undo the round-robin split: virtual user i went to process i % count.
    count = len(shares)
    ordered: list[ResultT] = []
    for position in range(sum(len(share) for share in shares)):
        result = per_process.get(position % count, [])
        offset = position // count
        value = result[offset] if offset < len(result) else None
        if value is not None:
            ordered.append(value)
    elapsed = max((part.elapsed for part in collected), default=0.0)
    return LoadResult(latencies, statuses, ordered, elapsed, failures)
