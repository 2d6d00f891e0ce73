"""Faults injected for real into the served app (granian on the test database).

- ``kill -9`` of the granian worker in the middle of a capture: the signed webhook's
  transaction has locked and updated the invoice and waits to credit the tokens (the test holds
  the user's balance row); the worker serving that very connection is SIGKILLed. The capture
  happened not at all (PostgreSQL rolls the open transaction back), the API answers again within
  seconds, and the provider's retry of the same delivery applies it exactly once.
- ``pg_terminate_backend`` of the app's connection in the middle of a consume (held the same
  way, after the usage row was claimed): the consume answers a clean 503, nothing is
  half-applied, and the retry and the next consume succeed.
"""

import http.client
import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import requests

from src.app import BillingApp
from tests.e2e.conftest import served_env
from tests.support.admin_ops import grant, make_admin
from tests.support.http_api import HttpApi
from tests.support.invariants import database_violations
from tests.support.pg_faults import (
    OpenRequest,
    backend_gone,
    server_workers,
    is_locked,
    poll,
    row_lock,
    terminate_backend,
    waiting_backend,
    worker_serving,
)
from tests.support.server import free_port, app_server_command, serve
from tests.support.webhooks import WEBHOOK, capture_payload, signature

LOCK_INVOICE = "SELECT 1 FROM invoices WHERE id = %s FOR UPDATE NOWAIT"
LOCK_BALANCE = "SELECT balance FROM user_token_balances WHERE user_id = %s FOR UPDATE"
RECOVERY_SECONDS = 10


@pytest.fixture(scope="module")
def fault_url(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Two sync workers. The lock timeout is long so that a held request waits for the test's
    fault instead of giving up on its own; no trial credits, so a consume takes tokens."""
    port = free_port()
    log = Path(tmp_path_factory.mktemp("granian-faults")) / "server.log"
    env = served_env(database_url, DB_LOCK_TIMEOUT_MS=60000, TRIAL_CREDITS=0)
    with serve(app_server_command(port, workers=2), env, port, log) as url:
        yield url


def db_state(database_url: str, user_id: uuid.UUID) -> dict[str, Any]:
    connection = psycopg2.connect(database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT balance FROM user_token_balances WHERE user_id = %s", (user_id,))
            (balance,) = cursor.fetchone() or (None,)
            cursor.execute(
                "SELECT status::text, COUNT(*) FROM invoices WHERE user_id = %s GROUP BY 1",
                (user_id,),
            )
            invoices = dict(cursor.fetchall())
            cursor.execute(
                "SELECT status::text, COUNT(*) FROM payments WHERE user_id = %s GROUP BY 1",
                (user_id,),
            )
            payments = dict(cursor.fetchall())
            cursor.execute(
                "SELECT transaction_type::text, amount FROM token_transactions "
                "WHERE user_id = %s ORDER BY sequence",
                (user_id,),
            )
            ledger = [tuple(row) for row in cursor.fetchall()]
            cursor.execute("SELECT reference FROM token_usages WHERE user_id = %s", (user_id,))
            usages = sorted(row[0] for row in cursor.fetchall())
        return {
            "balance": balance,
            "invoices": invoices,
            "payments": payments,
            "ledger": ledger,
            "usages": usages,
        }
    finally:
        connection.close()


def answers_again(base_url: str, user: Any, since: float) -> float:
    """Seconds from ``since`` until health and an authenticated read both answer 200."""

    def up() -> bool:
        try:
            health = requests.get(f"{base_url}/api/v1/health", timeout=2)
            balance = user.session.get(f"{base_url}/api/v1/user/tokens/balance", timeout=2)
        except requests.RequestException:
            return False
        return health.status_code == 200 and balance.status_code == 200

    poll(up, RECOVERY_SECONDS, "the API to answer again", interval=0.1)
    return time.monotonic() - since


def test_kill_9_of_the_worker_mid_capture_applies_nothing_then_the_retry_once(
    app: BillingApp, fault_url: str, database_url: str
) -> None:
    assert app.test_cli_runner().invoke(args=["catalog", "seed"]).exit_code == 0
    api = HttpApi(fault_url)
    user = api.register()
    grant(app, make_admin(app), user.id, 10)  # opens the balance row the capture will credit
    invoice = api.checkout_bundle(user, 100)
    body = json.dumps(capture_payload(invoice, reference=f"PAY-{uuid.uuid4().hex[:10]}"))
    headers = {"X-Webhook-Signature": signature(body)}

    with row_lock(database_url, LOCK_BALANCE, (str(user.id),)):
        request = OpenRequest(fault_url)
        request.send(WEBHOOK, body, headers)
        backend = waiting_backend(database_url)
        # The capture's one statement (bundle_capture_repository.py) waits on the balance row
        # its credit upserts; the invoice is already locked and updated by it.
        assert "billing_capture_bundles" in backend.query, backend.query
        assert is_locked(database_url, LOCK_INVOICE, (invoice["id"],))
        worker = worker_serving(request)
        os.kill(worker.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        worker.wait(timeout=10)
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            request.response()
        request.close()
    # The lock is gone: the orphaned backend goes on, finds no client and rolls back.
    backend_gone(database_url, backend.pid)

    state = db_state(database_url, user.id)
    assert state["balance"] == 10, state
    assert state["invoices"] == {"pending": 1}, state
    assert not state["payments"].get("completed"), state
    assert len(state["ledger"]) == 1, state  # the grant only
    recovered = answers_again(fault_url, user, killed_at)
    assert recovered < RECOVERY_SECONDS
    master, _ = server_workers(int(fault_url.rsplit(":", 1)[1]))
    poll(
        lambda: len([w for w in master.children() if w.pid != worker.pid]) == 2 or None,
        RECOVERY_SECONDS,
        "granian to respawn the killed worker",
    )
    print(f"the API answered again {recovered:.2f}s after the kill")

    # The provider redelivers the same webhook (same body, same signature): applied once.
    post_headers = {**headers, "Content-Type": "application/json"}
    first = requests.post(f"{fault_url}{WEBHOOK}", data=body, headers=post_headers, timeout=15)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "success", first.json()
    again = requests.post(f"{fault_url}{WEBHOOK}", data=body, headers=post_headers, timeout=15)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "already_paid", again.json()

    state = db_state(database_url, user.id)
    assert state["balance"] == 110, state
    assert state["invoices"] == {"paid": 1}, state
    assert state["payments"] == {"completed": 1}, state
    assert state["ledger"][1:] == [("purchase", 100)], state
    assert database_violations(app) == []


def test_pg_terminate_backend_mid_consume_is_a_clean_503_and_the_next_consume_works(
    app: BillingApp, fault_url: str, database_url: str
) -> None:
    api = HttpApi(fault_url)
    user = api.register()
    grant(app, make_admin(app), user.id, 50)
    token = user.session.headers["Authorization"]
    consume = json.dumps({"amount": 5, "reference": "job-1"})

    with row_lock(database_url, LOCK_BALANCE, (str(user.id),)):
        request = OpenRequest(fault_url, timeout=20)
        request.send("/api/v1/user/tokens/consume", consume, {"Authorization": str(token)})
        backend = waiting_backend(database_url)
        # the consume's one statement (a prepared statement since issue 14), waiting on the lock
        assert "billing_charge_usage" in backend.query, backend.query
        started = time.monotonic()
        terminate_backend(database_url, backend.pid)
        status, answer = request.response()
        answered_in = time.monotonic() - started
        request.close()
    backend_gone(database_url, backend.pid)

    assert status == 503, answer
    assert answer["error"]["code"] == "database_unavailable", answer
    assert answered_in < 5, answered_in
    state = db_state(database_url, user.id)
    assert state["balance"] == 50, state
    assert state["usages"] == [], state  # the claimed usage row went with the transaction
    assert len(state["ledger"]) == 1, state  # the grant only

    retried = user.session.post(
        f"{api.base}/user/tokens/consume", json=json.loads(consume), timeout=10
    )
    assert retried.status_code == 201, retried.text
    assert retried.json()["balance"] == 45, retried.json()
    replayed = user.session.post(
        f"{api.base}/user/tokens/consume", json=json.loads(consume), timeout=10
    )
    assert replayed.status_code == 201 and replayed.json()["balance"] == 45, replayed.text
    following = user.session.post(
        f"{api.base}/user/tokens/consume", json={"amount": 5, "reference": "job-2"}, timeout=10
    )
    assert following.status_code == 201, following.text
    assert following.json()["balance"] == 40, following.json()
    state = db_state(database_url, user.id)
    assert state["balance"] == 40 and state["usages"] == ["job-1", "job-2"], state
    assert database_violations(app) == []
