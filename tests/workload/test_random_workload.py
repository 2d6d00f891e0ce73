"""A seeded random workload from 4 concurrent clients, then a whole-database check.

Four real threads, each with its own test client against the app on PostgreSQL, share six
users and run a seeded mix of: checkouts (token bundles, now and then a plan; idempotency
keys, some replayed), captures on every generic path (the signed webhook, redelivered or
with a second reference for an invoice already paid; a manual payment started by the user
and settled by the admin's mark-paid; mark-paid alone), invoice cancels (a later capture of
them is money that requires a refund), consumes (references sometimes replayed), admin usage
refunds, admin payment refunds (full, partial, forced) and admin adjustments (bonuses and
corrections). No answer may be a 5xx. Afterwards every rule of tests/support/invariants.py
must hold: balances = ledgers, each external id applied once, no negative balance, paid
invoices ⇔ completed payments ⇔ credits.

``WORKLOAD_SEED`` (default 20261201) and ``WORKLOAD_OPS`` (operations per client, default
100) replay or widen a run; a failure prints the seed.
"""

import json
import os
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask.testing import FlaskClient

from sqlalchemy import text

from src.app import BillingApp
from src.extensions import db
from tests.conftest import TEST_SETTINGS
from tests.support.admin_ops import make_admin
from tests.support.api import ApiClient, RegisteredUser
from tests.support.invariants import counts, database_violations
from tests.support.webhooks import capture_payload, post_webhook

SEED = int(os.environ.get("WORKLOAD_SEED", "20261201"))
OPS_PER_CLIENT = int(os.environ.get("WORKLOAD_OPS", "100"))
CLIENTS = 4
USERS = 6


@pytest.fixture
def app_settings(database_url: str) -> dict[str, Any]:
    return {**TEST_SETTINGS, "DATABASE_URL": database_url, "TRIAL_CREDITS": 1}


@dataclass
class Shared:
    """What the clients learned so far (ids to act on), behind one lock."""

    users: list[RegisteredUser]
    admin: RegisteredUser
    bundles: list[str]
    plans: list[str]
    invoices: list[dict[str, Any]] = field(default_factory=list)
    references: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    keys: list[tuple[RegisteredUser, str, dict[str, Any]]] = field(default_factory=list)
    usages: list[tuple[RegisteredUser, str]] = field(default_factory=list)
    consume_refs: list[tuple[RegisteredUser, str]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    done: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def pick(self, rng: random.Random, items: list[Any]) -> Any:
        with self.lock:
            return rng.choice(items) if items else None

    def add(self, items: list[Any], item: Any) -> None:
        with self.lock:
            items.append(item)


class Client:
    def __init__(self, client: FlaskClient, shared: Shared, rng: random.Random, name: str):
        self.client = client
        self.shared = shared
        self.rng = rng
        self.name = name

    def check(self, op: str, response: Any, allowed: set[int]) -> Any:
        body = response.get_json(silent=True)
        if response.status_code >= 500 or response.status_code not in allowed:
            self.shared.add(
                self.shared.violations, f"{self.name} {op}: {response.status_code} {body}"
            )
        with self.shared.lock:
            key = f"{op} {response.status_code}"
            self.shared.done[key] = self.shared.done.get(key, 0) + 1
        return body if response.status_code < 300 else None

    def admin(self) -> dict[str, str]:
        return self.shared.admin.headers

    # --- the operations -------------------------------------------------------------------

    def checkout(self) -> None:
        user: RegisteredUser = self.shared.pick(self.rng, self.shared.users)
        replay = self.rng.random() < 0.15 and self.shared.keys
        if replay:
            user, key, body = self.shared.pick(self.rng, self.shared.keys)
        else:
            key = uuid.UUID(int=self.rng.getrandbits(128)).hex
            body = {"token_bundle_ids": [self.rng.choice(self.shared.bundles)]}
            if self.rng.random() < 0.1:
                body = {"plan_id": self.rng.choice(self.shared.plans)}
        response = self.client.post(
            "/api/v1/user/checkout",
            json=body,
            headers={**user.headers, "Idempotency-Key": key},
        )
        # 409: the user already has that plan, or the key is in flight on another client.
        answer = self.check("checkout", response, {200, 201, 409})
        if answer is not None and not replay:
            self.shared.add(self.shared.invoices, {**answer["invoice"], "user": user})
            self.shared.add(self.shared.keys, (user, key, body))

    def webhook(self) -> None:
        if self.rng.random() < 0.25 and self.shared.references:
            invoice, reference = self.shared.pick(self.rng, self.shared.references)
        else:
            invoice = self.shared.pick(self.rng, self.shared.invoices)
            if invoice is None:
                return
            reference = f"WH-{self.rng.getrandbits(48):012x}"
        payload = capture_payload(invoice, reference)
        response = post_webhook(self.client, payload)
        # 200 in every case: success, already_paid, or requires_refund (never refused).
        if self.check("webhook", response, {200}) is not None:
            self.shared.add(self.shared.references, (invoice, reference))

    def pay_manually(self) -> None:
        invoice = self.shared.pick(self.rng, self.shared.invoices)
        if invoice is None:
            return
        user = invoice["user"]
        started = self.client.post(
            f"/api/v1/user/invoices/{invoice['id']}/pay",
            json={"provider": "manual"},
            headers=user.headers,
        )
        # 409/422: the invoice is paid, cancelled or has another open payment.
        payment = self.check("pay manual", started, {200, 201, 409, 422})
        if payment is not None and self.rng.random() < 0.5:
            verified = self.client.post(
                "/api/v1/user/payments/verify",
                json={"payment_id": payment["payment_id"]},
                headers=user.headers,
            )
            self.check("verify", verified, {200, 409})
        self.mark_paid(invoice)

    def mark_paid(self, invoice: dict[str, Any] | None = None) -> None:
        invoice = invoice or self.shared.pick(self.rng, self.shared.invoices)
        if invoice is None:
            return
        response = self.client.post(
            f"/api/v1/admin/invoices/{invoice['id']}/mark-paid",
            json={"payment_reference": f"BANK-{self.rng.getrandbits(48):012x}"},
            headers=self.admin(),
        )
        self.check("mark-paid", response, {200, 409, 422})

    def cancel(self) -> None:
        invoice = self.shared.pick(self.rng, self.shared.invoices)
        if invoice is None:
            return
        response = self.client.post(
            f"/api/v1/user/invoices/{invoice['id']}/cancel", headers=invoice["user"].headers
        )
        self.check("cancel", response, {200, 409, 422})

    def consume(self) -> None:
        if self.rng.random() < 0.15 and self.shared.consume_refs:
            user, reference = self.shared.pick(self.rng, self.shared.consume_refs)
        else:
            user = self.shared.pick(self.rng, self.shared.users)
            reference = f"job-{self.rng.getrandbits(48):012x}"
        response = self.client.post(
            "/api/v1/user/tokens/consume",
            json={"amount": self.rng.randint(1, 40), "reference": reference},
            headers=user.headers,
        )
        # 402: not enough tokens; 409: the same reference is being recorded, or was with
        # another amount.
        answer = self.check("consume", response, {200, 201, 402, 409, 422})
        if answer is not None:
            self.shared.add(self.shared.consume_refs, (user, reference))
            self.shared.add(self.shared.usages, (user, answer["usage_id"]))

    def refund_usage(self) -> None:
        picked = self.shared.pick(self.rng, self.shared.usages)
        if picked is None:
            return
        user, usage_id = picked
        response = self.client.post(
            f"/api/v1/admin/users/{user.id}/tokens/usages/{usage_id}/refund",
            json={"reason": "workload"},
            headers=self.admin(),
        )
        self.check("usage refund", response, {200, 409})

    def refund_payment(self) -> None:
        listed = self.client.get("/api/v1/admin/payments?limit=100", headers=self.admin())
        page = self.check("list payments", listed, {200})
        candidates = [
            p
            for p in (page or {}).get("items", [])
            if p["status"] in ("completed", "partially_refunded")
        ]
        if not candidates:
            return
        payment = self.rng.choice(candidates)
        body: dict[str, Any] = {"force": self.rng.random() < 0.5}
        if self.rng.random() < 0.3:
            body["amount"] = "1.00"
        response = self.client.post(
            f"/api/v1/admin/payments/{payment['id']}/refund",
            json=body,
            headers={
                **self.admin(),
                "Idempotency-Key": uuid.UUID(int=self.rng.getrandbits(128)).hex,
            },
        )
        # 409: tokens already spent (not forced), or another refund is under way; 422: more
        # than is left.
        self.check("payment refund", response, {201, 202, 409, 422})

    def adjust(self) -> None:
        user = self.shared.pick(self.rng, self.shared.users)
        amount = self.rng.choice([self.rng.randint(1, 100), -self.rng.randint(1, 60)])
        response = self.client.post(
            f"/api/v1/admin/users/{user.id}/tokens/adjust",
            json={"amount": amount, "reason": "workload"},
            headers=self.admin(),
        )
        # 409: a correction below zero.
        self.check("adjust", response, {200, 409, 422})

    def run(self, operations: int) -> None:
        menu: list[tuple[Callable[[], None], int]] = [
            (self.checkout, 5),
            (self.webhook, 4),
            (self.pay_manually, 2),
            (self.mark_paid, 1),
            (self.cancel, 1),
            (self.consume, 6),
            (self.refund_usage, 2),
            (self.refund_payment, 1),
            (self.adjust, 2),
        ]
        actions, weights = zip(*menu)
        for _ in range(operations):
            self.rng.choices(actions, weights)[0]()


def test_a_seeded_random_workload_keeps_every_invariant(app: BillingApp) -> None:
    assert app.test_cli_runner().invoke(args=["catalog", "seed"]).exit_code == 0
    client = app.test_client()
    api = ApiClient(client)
    catalog = {
        "bundles": [b["id"] for b in client.get("/api/v1/token-bundles").get_json()["items"]],
        "plans": [p["id"] for p in client.get("/api/v1/plans").get_json()["items"]],
    }
    shared = Shared(
        users=[api.register() for _ in range(USERS)],
        admin=make_admin(app),
        bundles=catalog["bundles"],
        plans=catalog["plans"],
    )
    errors: list[str] = []

    def work(index: int) -> None:
        try:
            Client(app.test_client(), shared, random.Random(f"{SEED}-{index}"), f"c{index}").run(
                OPS_PER_CLIENT
            )
        except Exception as error:  # noqa: BLE001 - reported with the seed below
            errors.append(f"c{index}: {error!r}")

    threads = [threading.Thread(target=work, args=(index,)) for index in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)

    replay = f"replay with WORKLOAD_SEED={SEED} WORKLOAD_OPS={OPS_PER_CLIENT}"
    summary = json.dumps({"done": shared.done, "rows": counts(app)}, sort_keys=True)
    print(summary)
    assert not any(thread.is_alive() for thread in threads), f"a client hung; {replay}"
    assert errors == [], f"{errors}; {replay}"
    assert shared.violations == [], f"{shared.violations}; {replay}"
    violations = database_violations(app)
    assert violations == [], f"{len(violations)} violations: {violations}; {replay}; {summary}"


BREAKAGES = [
    # (what is broken, SQL that breaks it, SQL that mends it, the rule that must see it)
    (
        "a balance off its ledger",
        "UPDATE user_token_balances SET balance = balance + 1",
        "UPDATE user_token_balances SET balance = balance - 1",
        "ledger invariant",
    ),
    (
        "a paid invoice back to pending",
        "UPDATE invoices SET status = 'pending' WHERE status = 'paid'",
        "UPDATE invoices SET status = 'paid' WHERE status = 'pending'",
        "unpaid invoice's tokens credited",
    ),
    (
        "its payment failed",
        "UPDATE payments SET status = 'failed' WHERE status = 'completed'",
        "UPDATE payments SET status = 'completed' WHERE status = 'failed'",
        "paid invoice without exactly one payment",
    ),
    (
        "a use charged more than its entry",
        "UPDATE token_usages SET charged_tokens = charged_tokens + 1",
        "UPDATE token_usages SET charged_tokens = charged_tokens - 1",
        "charged use without exactly its ledger entry",
    ),
]


def test_the_whole_database_check_sees_each_breakage(app: BillingApp) -> None:
    """The check can fail: one paid invoice and one use, then each rule broken in turn."""
    assert app.test_cli_runner().invoke(args=["catalog", "seed"]).exit_code == 0
    client = app.test_client()
    api = ApiClient(client)
    user = api.register()
    bundle = client.get("/api/v1/token-bundles").get_json()["items"][0]["id"]
    invoice = api.checkout(user, token_bundle_ids=(bundle,))["invoice"]
    assert post_webhook(client, capture_payload(invoice)).get_json()["status"] == "success"
    for reference in ("r-trial", "r-tokens"):  # the trial credit goes first
        used = client.post(
            "/api/v1/user/tokens/consume",
            json={"amount": 2, "reference": reference},
            headers=user.headers,
        )
    assert used.status_code == 201 and used.get_json()["source"] == "tokens", used.get_json()
    assert database_violations(app) == []
    for what, breaks, mends, rule in BREAKAGES:
        with app.app_context():
            db.session.execute(text(breaks))
            db.session.commit()
        try:
            found = database_violations(app)
        finally:
            with app.app_context():
                db.session.execute(text(mends))
                db.session.commit()
        assert any(line.startswith(rule) for line in found), (what, found)
    assert database_violations(app) == []
