"""Checkout → signed payment webhook → balance reads, under concurrent load.

    .venv/bin/python -m bench.checkout_capture [--users N] [--concurrency C] [--duration S]
        [--workers W] [--threads T] [--clients P] [--reads R]

Defaults: 20 users, concurrency 16, 30 s, 2 gthread workers x 8 threads (``--workers 4
--threads 1`` is the Dockerfile's 4 sync workers), 2 load processes, 3 balance reads.

Setup (not timed): a fresh database, migrated and seeded; the server (granian); N registered users.
Timed: C virtual users in P separate load processes, each looping over its users:
POST /user/checkout (1-2 token bundles: a fresh pending invoice every time; bundles only, since
a user may hold one pending or active subscription), POST /webhooks/payment signed with the
secret (the capture of that invoice), then R x GET /user/tokens/balance.
Afterwards (not timed): every user's balance must equal the tokens of the invoices whose capture
succeeded, the ledger invariant must hold in SQL, and the paid invoices must be exactly those.
"""

import argparse
import hashlib
import hmac
import json
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.accounts import BenchUser, register_users
from bench.database import (
    ledger_violations,
    postgres_version,
    query,
    server_url,
    temporary_database,
    token_balances,
)
from bench.load import LoadResult, Recorder, run_load
from bench.options import add_common_arguments, check_counts, server_config
from bench.report import display_path, format_report, print_machine, print_verdict
from bench.server import API, WEBHOOK_SECRET, log_errors, log_path, serve_app

CHECKOUT = "POST /user/checkout"
CAPTURE = "POST /webhooks/payment"
BALANCE = "GET /user/tokens/balance"
ORDER = (CHECKOUT, CAPTURE, BALANCE)


@dataclass(frozen=True)
class Bundle:
    id: str
    tokens: int


@dataclass(frozen=True)
class VirtualUser:
    """One looping client: its users (taken in turn), the catalog, and its random seed."""

    index: int
    users: tuple[BenchUser, ...]
    bundles: tuple[Bundle, ...]
    reads: int
    seed: int


@dataclass
class Outcome:
    """What one virtual user saw; ``credited`` counts only captures answered ``success``."""

    iterations: int = 0
    credited: dict[str, int] = field(default_factory=dict)  # user id -> tokens
    captured_invoices: list[str] = field(default_factory=list)
    uncaptured_invoices: list[str] = field(default_factory=list)  # checkout ok, capture not
    anomalies: Counter[str] = field(default_factory=Counter)


def sign(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    """``t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">``, as a payment provider signs."""
    stamp = int(time.time())
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


async def checkout_capture_loop(recorder: Recorder, vu: VirtualUser, deadline: float) -> Outcome:
    """The timed scenario of one virtual user (runs in a load process)."""
    rng = random.Random(vu.seed)
    outcome = Outcome()
    while time.perf_counter() < deadline:
        user = vu.users[outcome.iterations % len(vu.users)]
        outcome.iterations += 1
        auth = {"Authorization": f"Bearer {user.token}"}
        bought = [rng.choice(vu.bundles) for _ in range(rng.randint(1, 2))]
        checkout = await recorder.request(
            CHECKOUT,
            "POST",
            f"{API}/user/checkout",
            json_body={"token_bundle_ids": [bundle.id for bundle in bought]},
            headers={**auth, "Idempotency-Key": str(uuid.uuid4())},
        )
        if checkout.status != 201:
            outcome.anomalies[f"checkout answered {checkout.status or checkout.error}"] += 1
            continue
        invoice = checkout.body["invoice"]
        body = json.dumps(
            {
                "invoice_id": invoice["id"],
                "payment_reference": f"bench-{uuid.uuid4().hex}",
                "amount": invoice["total_amount"],
                "currency": invoice["currency"],
            }
        ).encode()
        capture = await recorder.request(
            CAPTURE,
            "POST",
            f"{API}/webhooks/payment",
            data=body,
            headers={"Content-Type": "application/json", "X-Webhook-Signature": sign(body)},
        )
        if capture.status == 200 and capture.body.get("status") == "success":
            tokens = sum(bundle.tokens for bundle in bought)
            outcome.credited[user.id] = outcome.credited.get(user.id, 0) + tokens
            outcome.captured_invoices.append(invoice["id"])
        else:
            what = capture.body.get("status") if capture.status == 200 else capture.status
            outcome.anomalies[f"capture answered {what or capture.error}"] += 1
            outcome.uncaptured_invoices.append(invoice["id"])
        for _ in range(vu.reads):
            balance = await recorder.request(
                BALANCE, "GET", f"{API}/user/tokens/balance", headers=auth
            )
            if balance.ok and balance.body["balance"] < outcome.credited.get(user.id, 0):
                # Only credits happen, so a balance below what this client alone saw credited
                # is a stale or lost write.
                outcome.anomalies["balance read below own credits"] += 1
    return outcome


# --- setup -------------------------------------------------------------------------------


def token_bundles(base_url: str) -> tuple[Bundle, ...]:
    response = requests.get(f"{base_url}{API}/token-bundles", timeout=30)
    response.raise_for_status()
    return tuple(Bundle(item["id"], item["token_amount"]) for item in response.json()["items"])


def virtual_users(
    users: Sequence[BenchUser], bundles: tuple[Bundle, ...], concurrency: int, reads: int
) -> list[VirtualUser]:
    """Spread users over virtual users: with more users than clients each client takes its
    own users in turn; with fewer, clients share users (concurrent purchases of one user)."""
    result = []
    for index in range(concurrency):
        if len(users) >= concurrency:
            own = tuple(users[index::concurrency])
        else:
            own = (users[index % len(users)],)
        result.append(VirtualUser(index, own, bundles, reads, seed=1000 + index))
    return result


# --- verification (not timed) ------------------------------------------------------------


def verify(
    base_url: str, database_url: str, users: Sequence[BenchUser], load: LoadResult[Outcome]
) -> list[str]:
    """Problems found (empty: no token lost or invented). Prints what it checked."""
    problems: list[str] = []
    expected: Counter[str] = Counter()
    captured: set[str] = set()
    uncaptured: set[str] = set()
    for outcome in load.results:
        expected.update(outcome.credited)
        captured.update(outcome.captured_invoices)
        uncaptured.update(outcome.uncaptured_invoices)

    api_mismatches = []
    for user in users:
        response = requests.get(
            f"{base_url}{API}/user/tokens/balance",
            headers={"Authorization": f"Bearer {user.token}"},
            timeout=30,
        )
        balance = response.json()["balance"] if response.ok else None
        if balance != expected[user.id]:
            api_mismatches.append(
                f"{user.email}: API balance {balance}, bought {expected[user.id]}"
            )
    sql_balances = token_balances(database_url)
    sql_mismatches = [
        f"{user.email}: balance row {sql_balances.get(user.id)}, bought {expected[user.id]}"
        for user in users
        if sql_balances.get(user.id, 0) != expected[user.id]
    ]
    violations = ledger_violations(database_url)
    paid = {
        row[0] for row in query(database_url, "SELECT id::text FROM invoices WHERE status = 'paid'")
    }

    print(
        f"  balances (API) equal tokens bought: {len(users) - len(api_mismatches)}/{len(users)}"
        f" users; tokens bought {sum(expected.values())} over {len(captured)} captured invoices"
    )
    print(
        f"  balances (SQL) equal tokens bought: {len(users) - len(sql_mismatches)}/{len(users)}"
        " users"
    )
    print(
        "  ledger invariant (balance = SUM(amount), newest balance_after, sequence 1..version,"
        f" totals): {'holds' if not violations else f'BROKEN for {len(violations)} users'}"
        f" ({len(sql_balances)} balance rows)"
    )
    print(
        f"  paid invoices in SQL: {len(paid)}; captured by the load: {len(captured)}; "
        f"paid but not seen captured: {len(paid - captured)}; captured but not paid: "
        f"{len(captured - paid)}; capture not confirmed: {len(uncaptured)}"
        f" (of which paid: {len(uncaptured & paid)})"
    )
    problems += api_mismatches[:10] + sql_mismatches[:10]
    problems += [f"ledger violation: {row}" for row in violations[:10]]
    if paid != captured:
        problems.append(
            f"paid invoices differ from captured ones: {len(paid - captured)} extra, "
            f"{len(captured - paid)} missing"
        )
    return problems


# --- main --------------------------------------------------------------------------------


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.checkout_capture",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_arguments(
        parser,
        concurrency_help="virtual users in flight (default 16)",
        duration_default=30,
        duration_help="timed seconds (default 30)",
    )
    parser.add_argument("--reads", type=int, default=3, help="balance reads per iteration (3)")
    arguments = parser.parse_args(argv)
    check_counts(parser, arguments)
    if arguments.duration <= 0 or arguments.reads < 0:
        parser.error("--duration must be positive and --reads not negative")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    config = server_config(arguments)
    log: Path = log_path("checkout_capture")
    clients = min(arguments.clients, arguments.concurrency)
    print("checkout_capture: checkout -> signed payment webhook -> balance reads")
    print_machine(postgres_version(server_url()))
    print(f"  server:       {config.describe()}")
    print(
        f"  load:         {arguments.concurrency} virtual users in {clients} load processes "
        f"(asyncio + aiohttp, keep-alive), {arguments.duration:g} s timed"
    )
    print(
        f"  scenario:     {arguments.users} users; per iteration 1 checkout (1-2 token bundles, "
        f"Idempotency-Key), 1 capture webhook, {arguments.reads} balance reads"
    )
    print(f"  server log:   {display_path(log)}")
    sys.stdout.flush()

    with temporary_database() as database_url:
        with serve_app(database_url, config, log) as base_url:
            started = time.perf_counter()
            users = register_users(base_url, arguments.users)
            bundles = token_bundles(base_url)
            print(
                f"  setup:        {len(users)} users registered, {len(bundles)} token bundles "
                f"({time.perf_counter() - started:.1f} s, not timed)"
            )
            sys.stdout.flush()
            vus = virtual_users(users, bundles, arguments.concurrency, arguments.reads)
            load = run_load(
                checkout_capture_loop, base_url, vus, arguments.duration, processes=clients
            )

            iterations = sum(outcome.iterations for outcome in load.results)
            print()
            print(
                f"timed phase: {load.elapsed:.1f} s, {iterations} iterations "
                f"({iterations / load.elapsed:.1f}/s)"
                if load.elapsed > 0
                else "timed phase: no result"
            )
            print(format_report(load.latencies, load.statuses, load.elapsed, ORDER))

            anomalies: Counter[str] = Counter()
            for outcome in load.results:
                anomalies.update(outcome.anomalies)
            if anomalies:
                print("anomalies seen by the clients:")
                for what, count in anomalies.most_common():
                    print(f"  {count} x {what}")
            for failure in load.failures:
                print(f"load process failure:\n{failure}")

            print()
            print("verification (not timed):")
            problems = verify(base_url, database_url, users, load)
        # the server has stopped: its log is complete.
        server_errors = log_errors(log)

    print_verdict(problems, log, server_errors)
    return 0 if not problems and not load.failures else 1


if __name__ == "__main__":
    sys.exit(main())
