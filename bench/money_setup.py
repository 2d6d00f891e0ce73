"""The untimed setup of bench/money_paths.py that is more than accounts: the pgbench deduct
tables, the pending invoices the capture phase pays, and their signed webhooks.

The deduct tables are the issue's reference shape of a balance row and a ledger entry,
separate from the app's tables so that pgbench's debits never touch the app's invariant. The
invoices are made through the API (as a client would) before the phase, so the phase times only
the capture; the webhooks are signed just before it, within the app's 300 s signature window.
"""

import json
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests

from bench.accounts import BenchUser
from bench.checkout_capture import Bundle, sign
from bench.database import execute, query
from bench.server import API

DEDUCT_TABLES = """
    CREATE TABLE bench_deduct_balances (
        user_id uuid PRIMARY KEY,
        balance integer NOT NULL CHECK (balance >= 0),
        total_spent integer NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE bench_deduct_ledger (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id uuid NOT NULL,
        amount integer NOT NULL,
        balance_after integer NOT NULL,
        transaction_type text NOT NULL,
        reference text,
        created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX bench_deduct_ledger_user_created ON bench_deduct_ledger (user_id, created_at);
"""


# Account k of the reference tables has a uuid the scripts compute from k, as cheap as a
# parameter: picking it out of a -D array of 1,000 uuids made PostgreSQL parse the whole array
# on every transaction (pgbench then measured the array literal, ~1,400 reads/s, not the read).
ACCOUNT_ID_SQL = "('00000000-0000-4000-8000-' || lpad({k}::text, 12, '0'))::uuid"


def create_deduct_tables(database_url: str, accounts: int, balance: int) -> None:
    """The reference tables, one balance row of ``balance`` per account (accounts 1..N: one
    per benchmark user)."""
    execute(database_url, DEDUCT_TABLES)
    account = ACCOUNT_ID_SQL.format(k="k")
    execute(
        database_url,
        "INSERT INTO bench_deduct_balances (user_id, balance) "
        f"SELECT {account}, {int(balance)} FROM generate_series(1, {int(accounts)}) AS k",
    )


def deduct_totals(database_url: str) -> tuple[int, int, int]:
    """(sum of balances, ledger entries, repeated (user, balance_after)) of the deduct tables."""
    balances = query(database_url, "SELECT COALESCE(SUM(balance), 0) FROM bench_deduct_balances")
    entries, repeated = query(
        database_url,
        "SELECT count(*), count(*) - count(DISTINCT (user_id, balance_after)) "
        "FROM bench_deduct_ledger",
    )[0]
    return int(balances[0][0]), int(entries), int(repeated)


@dataclass(frozen=True)
class PendingInvoice:
    id: str
    user_id: str
    amount: int
    currency: str


def create_invoices(
    base_url: str, users: Sequence[BenchUser], bundles: Sequence[Bundle], count: int
) -> list[PendingInvoice]:
    """``count`` pending invoices for ``bundles`` (one checkout each, fresh Idempotency-Key),
    spread over the users, 16 checkouts at a time."""

    def checkout(index: int) -> PendingInvoice:
        user = users[index % len(users)]
        response = requests.post(
            f"{base_url}{API}/user/checkout",
            json={"token_bundle_ids": [bundle.id for bundle in bundles]},
            headers={"Authorization": f"Bearer {user.token}", "Idempotency-Key": str(uuid.uuid4())},
            timeout=60,
        )
        if response.status_code != 201:
            raise RuntimeError(f"checkout answered {response.status_code}: {response.text[:300]}")
        invoice = response.json()["invoice"]
        return PendingInvoice(invoice["id"], user.id, invoice["total_amount"], invoice["currency"])

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(checkout, range(count)))


def write_signed_webhooks(invoices: Sequence[PendingInvoice], path: Path) -> None:
    """One ``<X-Webhook-Signature>\\t<body>`` line per invoice, for bench/lua/capture.lua."""
    lines = []
    for invoice in invoices:
        body = json.dumps(
            {
                "invoice_id": invoice.id,
                "payment_reference": f"bench-{uuid.uuid4().hex}",
                "amount": invoice.amount,
                "currency": invoice.currency,
            }
        ).encode()
        lines.append(f"{sign(body)}\t{body.decode()}")
    path.write_text("\n".join(lines) + "\n")
