"""A capture credits all of an invoice's token bundles as one balance change (issue 14): one
lock of the purchases, one UPDATE of them, one UPDATE of the balance, one INSERT of the
entries; the ledger reads as if they had been credited one after the other."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import event, select
from sqlalchemy.engine.interfaces import ExecuteStyle

from src.app import BillingApp
from src.extensions import db
from src.models.token_bundle import PurchaseStatus, TokenBundlePurchase
from src.models.token_ledger import TokenTransaction
from tests.support.api import ApiClient, RegisteredUser
from tests.support.statements import recorded_statements
from tests.support.tokens import buy_tokens
from tests.support.webhooks import capture_payload, post_webhook


@contextmanager
def executemany_calls(app: BillingApp) -> Iterator[list[str]]:
    """The statements the session's engine sent as psycopg2 executemany meanwhile (a round
    trip per row); a multi-row INSERT ("insertmanyvalues") is one statement, not counted."""
    calls: list[str] = []

    def record(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        if context.execute_style is ExecuteStyle.EXECUTEMANY:
            calls.append(sql)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield calls
    finally:
        event.remove(engine, "before_cursor_execute", record)


def statements_on(statements: list[tuple[str, str]], table: str, verb: str) -> int:
    return sum(1 for _, sql in statements if sql.startswith(verb) and f" {table} " in sql)


def test_three_bundles_are_one_balance_change_with_three_entries(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    buy_tokens(api, user, demo_catalog["tokens-50"])  # a balance of 50 first
    bundles = (demo_catalog["tokens-100"], demo_catalog["tokens-250"], demo_catalog["tokens-500"])
    checkout = api.checkout(user, token_bundle_ids=bundles)

    with recorded_statements(app) as statements, executemany_calls(app) as batched:
        response = post_webhook(client, capture_payload(checkout["invoice"]))

    assert response.status_code == 200 and response.get_json()["status"] == "success"
    assert statements_on(statements, "user_token_balances", "UPDATE") == 1
    assert statements_on(statements, "token_transactions", "INSERT INTO") == 1
    assert statements_on(statements, "token_bundle_purchases", "SELECT") == 1
    assert statements_on(statements, "token_bundle_purchases", "UPDATE") == 1
    assert batched == []  # none of them one round trip per row (psycopg2's executemany)
    # the line items come with the locked invoice, not in a statement of their own
    assert not [sql for _, sql in statements if sql.startswith("SELECT invoice_line_items")]
    with app.app_context():
        entries = db.session.scalars(
            select(TokenTransaction)
            .where(TokenTransaction.user_id == user.id)
            .order_by(TokenTransaction.sequence)
        ).all()
        purchases = db.session.scalars(
            select(TokenBundlePurchase).where(TokenBundlePurchase.user_id == user.id)
        ).all()
        by_purchase: dict[Any, TokenBundlePurchase] = {p.id: p for p in purchases}
        credited = [
            (entry.sequence, entry.amount, entry.balance_after, by_purchase[entry.reference_id])
            for entry in entries
        ]
    assert [row[:3] for row in credited] == [
        (1, 50, 50),
        (2, 100, 150),
        (3, 250, 400),
        (4, 500, 900),
    ]
    assert {row[3].status for row in credited} == {PurchaseStatus.COMPLETED}
    assert [row[3].bundle_id for row in credited[1:]] == list(bundles)  # in line order
    assert api.balance(user) == {"balance": 900, "total_purchased": 900, "total_spent": 0}
