"""Consume latency with auto-reload armed, and how long a reload intent waits for Stripe.

    .venv/bin/python -m bench.auto_reload [--users 20] [--uses 8] [--concurrency 8]

Setup (not timed): a fresh database; localstripe; the app under granian and one
``flask worker`` (both pointed at localstripe); N users, each with a saved card
(``pm_card_visa``), 60 tokens and auto-reload of 100 tokens under 45.

Timed: every user spends 10 tokens ``--uses`` times (C clients at once). The first use of each
user drops under 45 and defers a reload job in its own transaction; the answer does not wait
for Stripe. Printed: consume latency (all uses, and the uses that deferred a reload), then,
from the database, each reload job's wait (deferred → started, procrastinate's events) and
each reload intent's commit → outcome (payment created → completed: the worker's charge at
localstripe and the capture included). Asserts nothing.
"""

import argparse
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import stripe

from bench.accounts import BenchUser, create_admin, grant_tokens, register_users
from bench.database import postgres_version, query, server_url, temporary_database
from bench.report import percentile, print_machine
from bench.server import API, ROOT, ServerConfig, app_env, free_port, log_path, serve_app

LOCALSTRIPE_KEY = "sk_test_bench"
THRESHOLD = 45
START_TOKENS = 60
USE = 10
PENDING_RELOADS = (
    "SELECT count(*) FROM procrastinate_jobs "
    "WHERE task_name = 'auto_reload.charge' AND status IN ('todo', 'doing')"
)


def start_localstripe(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "tests/support/run_localstripe.py", "--port", str(port)],
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if requests.get(f"{url}/v1/balance", auth=(LOCALSTRIPE_KEY, ""), timeout=1).ok:
                return process, url
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError("localstripe did not start")


def prepare(base: str, sdk: stripe.StripeClient, users: list[BenchUser]) -> None:
    bundles = requests.get(f"{base}{API}/token-bundles", timeout=10).json()["items"]
    bundle = next(b["id"] for b in bundles if b["token_amount"] == 100)
    for user in users:
        headers = {"Authorization": f"Bearer {user.token}"}
        setup = requests.post(
            f"{base}{API}/user/payment-methods/setup", json={}, headers=headers, timeout=30
        )
        customer = setup.json()["customer_id"]
        card = sdk.v1.payment_methods.attach("pm_card_visa", params={"customer": customer})
        sdk.v1.customers.update(
            customer, params={"invoice_settings": {"default_payment_method": card.id}}
        )
        body = {"enabled": True, "threshold": THRESHOLD, "bundle_id": bundle}
        requests.put(f"{base}{API}/user/tokens/auto-reload", json=body, headers=headers, timeout=10)


def consume(base: str, user: BenchUser, reference: str) -> tuple[float, int]:
    started = time.perf_counter()
    answer = requests.post(
        f"{base}{API}/user/tokens/consume",
        json={"amount": USE, "reference": reference},
        headers={"Authorization": f"Bearer {user.token}"},
        timeout=30,
    )
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed, int(answer.json()["balance"]) if answer.status_code == 201 else -1


def summary(label: str, values: list[float]) -> str:
    ordered = sorted(values)
    return (
        f"{label}: n={len(ordered)} p50 {percentile(ordered, 50):.1f} ms, "
        f"p90 {percentile(ordered, 90):.1f} ms, p99 {percentile(ordered, 99):.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--uses", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=8)
    arguments = parser.parse_args()
    print_machine(postgres_version(server_url()))
    stripe_log = log_path("auto-reload-localstripe")
    localstripe, stripe_url = start_localstripe(stripe_log)
    settings = {
        "TRIAL_CREDITS": "0",
        "STRIPE_SECRET_KEY": LOCALSTRIPE_KEY,
        "STRIPE_API_BASE": stripe_url,
        "STRIPE_WEBHOOK_SECRET": "whsec_bench",
    }
    sdk = stripe.StripeClient(
        LOCALSTRIPE_KEY, base_addresses={"api": stripe_url}, max_network_retries=0
    )
    try:
        with temporary_database() as database_url:
            config = ServerConfig()
            with serve_app(
                database_url, config, log_path("auto-reload-api"), settings=settings
            ) as base:
                worker_log = log_path("auto-reload-worker")
                with worker_log.open("wb") as output:
                    worker = subprocess.Popen(
                        [sys.executable, "-m", "flask", "worker", "--concurrency", "4"],
                        cwd=ROOT,
                        env=app_env(database_url, settings),
                        stdout=output,
                        stderr=subprocess.STDOUT,
                    )
                try:
                    users = register_users(base, arguments.users)
                    admin = create_admin(
                        database_url, base, "bench-admin@example.com", "bench-admin-pw"
                    )
                    grant_tokens(base, admin, users, START_TOKENS)
                    prepare(base, sdk, users)
                    work = [
                        (user, f"use-{index}-{round_}")
                        for round_ in range(arguments.uses)
                        for index, user in enumerate(users)
                    ]
                    with ThreadPoolExecutor(arguments.concurrency) as pool:
                        results = list(pool.map(lambda item: consume(base, *item), work))
                    deadline = time.monotonic() + 60
                    while (
                        time.monotonic() < deadline
                        and query(
                            database_url,
                            PENDING_RELOADS,
                        )[
                            0
                        ][0]
                    ):
                        time.sleep(0.2)
                finally:
                    worker.terminate()
                    worker.wait(timeout=30)
            waits = [
                float(row[0])
                for row in query(
                    database_url,
                    "SELECT EXTRACT(EPOCH FROM (s.at - d.at)) * 1000 FROM procrastinate_events d "
                    "JOIN procrastinate_events s ON s.job_id = d.job_id AND s.type = 'started' "
                    "JOIN procrastinate_jobs j ON j.id = d.job_id "
                    "WHERE d.type = 'deferred' AND j.task_name = 'auto_reload.charge'",
                )
            ]
            outcomes = [
                float(row[0])
                for row in query(
                    database_url,
                    "SELECT EXTRACT(EPOCH FROM (completed_at - created_at)) * 1000 FROM payments "
                    "WHERE method = 'off_session' AND completed_at IS NOT NULL",
                )
            ]
            reloads = query(
                database_url,
                "SELECT status, count(*) FROM payments WHERE method = 'off_session' GROUP BY 1",
            )
    finally:
        localstripe.terminate()
        localstripe.wait(timeout=10)
    latencies = [elapsed for elapsed, _ in results]
    deferring = [elapsed for elapsed, balance in results if THRESHOLD - USE <= balance < THRESHOLD]
    print(f"{len(results)} consumes by {arguments.users} users, {arguments.concurrency} at once")
    print(summary("consume, all", latencies))
    print(summary("consume that deferred a reload", deferring))
    print(summary("reload job: deferred -> started", waits))
    print(summary("reload intent: committed -> outcome recorded (Stripe call included)", outcomes))
    print(f"reload payments by status: {dict((str(s), int(n)) for s, n in reloads)}")


if __name__ == "__main__":
    main()
