"""Instructions per request of the balance read, the consume and the capture, by valgrind.

    .venv/bin/python -m bench.instructions [--requests N] [--path read|consume|capture ...]

Why a count and not a rate: on a machine whose speed moves (the fifth session's ran the same
pure-Python loop in 1.2 s and in 2.8 s minutes apart, with no steal time reported), req/s
cannot tell a 10 % step from noise, while callgrind counts the same instructions for the same
code and inputs whatever else the machine does. It measures a step; the rates against
pgbench (bench/money_paths.py) stay the issue's measure.

What is counted: the app's own process, in-process (``create_app`` and the WSGI call, no HTTP
server, no load client), with the settings bench/money_paths.py serves it with
(``bench.server.APP_SETTINGS``: production mode, rate limits on, the audit log at INFO; no
trial credit). PostgreSQL's work is another process and not counted, and
waiting costs no instructions.

The capture is the signed generic webhook of a pending 3-bundle invoice (as money_paths
sends it), each invoice paid once.

Method: a fresh database, one funded user and its pending invoices (not counted). Then, for
each path, two children
under ``valgrind --tool=callgrind`` at once, with the same hash seed: each starts the app and
makes 50 warm-up requests (connections, prepared statements, caches), and one of them makes
N more. Their difference over N is one request's count, start-up and warm-up cancelled.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.accounts import PASSWORD
from bench.checkout_capture import sign
from bench.database import postgres_version, server_url, temporary_database
from bench.report import print_machine
from bench.server import ROOT, app_env, flask_cli

if TYPE_CHECKING:  # the app is imported in the children only, after their environment is set
    from src.app import BillingApp

PATHS = ("read", "consume", "capture")
WARM_UP = 50
GRANT = 10_000_000
# As bench/money_paths.py serves it: no trial credit, so a consume is paid with tokens.
SETTINGS = {"TRIAL_CREDITS": "0"}
INVOICES = "invoices.json"
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def _child_app() -> "BillingApp":
    from src.app import create_app

    return create_app()


def child_setup(invoices_file: Path, invoices: int) -> None:
    """Register the user and fund it through the API (in-process), check out ``invoices``
    pending invoices of three bundles into ``invoices_file``; print the user's id."""
    app = _child_app()
    client = app.test_client()
    email = f"instructions-{uuid.uuid4().hex[:8]}@example.com"
    registered = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert registered.status_code == 201, registered.get_json()
    admin = client.post(
        "/api/v1/auth/login", json={"email": "admin@example.com", "password": PASSWORD}
    )
    assert admin.status_code == 200, admin.get_json()
    user_id = registered.get_json()["user"]["id"]
    granted = client.post(
        f"/api/v1/admin/users/{user_id}/tokens/adjust",
        json={"amount": GRANT, "reason": "bench instructions"},
        headers={"Authorization": f"Bearer {admin.get_json()['access_token']}"},
    )
    assert granted.status_code < 300, granted.get_json()
    user_headers = {"Authorization": f"Bearer {registered.get_json()['access_token']}"}
    catalog = client.get("/api/v1/token-bundles").get_json()["items"]
    bundle_ids = [catalog[index % len(catalog)]["id"] for index in range(3)]
    pending = []
    for _ in range(invoices):
        checkout = client.post(
            "/api/v1/user/checkout",
            json={"token_bundle_ids": bundle_ids},
            headers={**user_headers, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert checkout.status_code == 201, checkout.get_json()
        invoice = checkout.get_json()["invoice"]
        pending.append([invoice["id"], invoice["total_amount"], invoice["currency"]])
    invoices_file.write_text(json.dumps(pending))
    print(user_id)


def _signed_webhook(invoice: Sequence[Any]) -> tuple[list[tuple[str, str]], str]:
    invoice_id, amount, currency = invoice
    body = json.dumps(
        {
            "invoice_id": invoice_id,
            "payment_reference": f"instructions-{uuid.uuid4().hex}",
            "amount": amount,
            "currency": currency,
        }
    )
    headers = [("X-Webhook-Signature", sign(body.encode())), ("Content-Type", "application/json")]
    return headers, body


def child_requests(path: str, count: int, user_id: str, invoices_file: Path) -> None:
    """The warm-up, then ``count`` requests of ``path``, each asserted to succeed. The child
    that counts warm-up only pays the first WARM_UP invoices, the other the rest."""
    from werkzeug.test import EnvironBuilder

    from src.models.user import UserRole
    from src.security import issue_access_token

    app = _child_app()
    with app.app_context():
        token = issue_access_token(uuid.UUID(user_id), UserRole.USER)
    headers = [("Authorization", f"Bearer {token}"), ("Content-Type", "application/json")]

    invoices: list[Any] = json.loads(invoices_file.read_text())
    unpaid = iter(invoices[:WARM_UP] if count == 0 else invoices[WARM_UP:])

    def environ() -> dict[str, object]:
        if path == "capture":
            webhook_headers, webhook = _signed_webhook(next(unpaid))
            builder = EnvironBuilder(
                path="/api/v1/webhooks/payment",
                method="POST",
                headers=webhook_headers,
                data=webhook,
            )
        elif path == "read":
            builder = EnvironBuilder(path="/api/v1/user/tokens/balance", headers=headers)
        else:
            body = '{"amount": 1, "reference": "i-%s"}' % uuid.uuid4().hex
            builder = EnvironBuilder(
                path="/api/v1/user/tokens/consume", method="POST", headers=headers, data=body
            )
        return dict(builder.get_environ())

    def call(request: dict[str, object]) -> None:
        statuses: list[str] = []

        def start_response(status: str, headers: object, exc_info: object = None) -> Any:
            statuses.append(status)

        body = b"".join(app(request, start_response))
        assert statuses[0].startswith("20"), (statuses, body)
        assert path != "capture" or json.loads(body)["status"] == "success", body

    for _ in range(WARM_UP):
        call(environ())
    requests = [environ() for _ in range(count)]  # built before, as a server's are
    for request in requests:
        call(request)


def _count(database_url: str, path: str, count: int, user_id: str, directory: Path) -> int:
    """Instructions of one child under callgrind (its whole run)."""
    command = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={directory / f'{path}.{count}.out'}",
        sys.executable,
        "-m",
        "bench.instructions",
        "--child",
        path,
        str(count),
        user_id,
        str(directory / INVOICES),
    ]
    env = {**app_env(database_url, SETTINGS), "PYTHONHASHSEED": "0"}
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    match = _COLLECTED.search(completed.stderr)
    if completed.returncode != 0 or match is None:
        raise RuntimeError(f"{path} x {count} under callgrind failed:\n{completed.stderr[-3000:]}")
    return int(match.group(1))


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=300, help="counted requests (300)")
    parser.add_argument("--path", action="append", choices=PATHS, help="read and/or consume (both)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.requests < 1:
        parser.error("--requests must be at least 1")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    if arguments.child:
        if arguments.child[0] == "setup":
            child_setup(Path(arguments.child[1]), int(arguments.child[2]))
        else:
            path, count, user_id, invoices_file = arguments.child
            child_requests(path, int(count), user_id, Path(invoices_file))
        return 0
    if shutil.which("valgrind") is None:
        print("instructions: valgrind is not installed (apt-get install valgrind)")
        return 2
    paths = arguments.path or list(PATHS)
    print("instructions: what one request costs the app's process, counted by callgrind")
    print_machine(postgres_version(server_url()))
    with temporary_database() as database_url, tempfile.TemporaryDirectory() as scratch:
        flask_cli(
            database_url, "users", "create-admin", "admin@example.com", "--password", PASSWORD
        )
        setup = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.instructions",
                "--child",
                "setup",
                str(Path(scratch) / INVOICES),
                str(2 * WARM_UP + arguments.requests if "capture" in paths else 0),
            ],
            cwd=ROOT,
            env=app_env(database_url, SETTINGS),
            capture_output=True,
            text=True,
            check=True,
        )
        user_id = setup.stdout.strip().splitlines()[-1]
        print(
            f"  setup:        one user with {GRANT:,} tokens and its pending 3-bundle invoices; "
            f"{WARM_UP} warm-up requests"
        )
        print(f"\n{'path':<10} {'per request':>14} {'warm-up only':>16} {'with N more':>16}")
        for path in paths:
            with ThreadPoolExecutor(max_workers=2) as pool:
                base, more = pool.map(
                    lambda n: _count(database_url, path, n, user_id, Path(scratch)),
                    (0, arguments.requests),
                )
            per_request = (more - base) / arguments.requests
            print(f"{path:<10} {per_request:>14,.0f} {base:>16,} {more:>16,}")
    print(f"(N = {arguments.requests}; PYTHONHASHSEED=0; {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
