"""A capture's round trips (issue 14). A provider's confirmation of a checkout of token
bundles is one statement (src/repositories/bundle_capture_repository.py). Every other
capture takes the full path, which credits all of an invoice's token bundles as one balance
change: one lock of the purchases, one UPDATE of them, one UPDATE of the balance, one INSERT
of the entries. Either way the ledger reads as if they had been credited one by one."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import event, select
from sqlalchemy.engine.interfaces import ExecuteStyle

from src.app import BillingApp
from src.extensions import db
from src.models.token_bundle import PurchaseStatus, TokenBundlePurchase
from src.models.token_ledger import TokenTransaction, UserTokenBalance
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


def test_a_webhook_capture_of_three_bundles_is_one_statement(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
) -> None:
    buy_tokens(api, user, demo_catalog["tokens-50"])  # a balance of 50 first
    bundles = (demo_catalog["tokens-100"], demo_catalog["tokens-250"], demo_catalog["tokens-500"])
    checkout = api.checkout(user, token_bundle_ids=bundles)

    with recorded_statements(app) as statements:
        response = post_webhook(client, capture_payload(checkout["invoice"]))

    assert response.status_code == 200 and response.get_json()["status"] == "success"
    assert response.get_json()["items_activated"] == 3
    sent = [sql.split("(")[0] for _, sql in statements]
    # the savepoint would undo the statement if it did not do all of its work
    assert sent == [
        "SAVEPOINT sa_savepoint_1",
        "EXECUTE billing_capture_bundles",
        "RELEASE SAVEPOINT sa_savepoint_1",
    ]
    assert_credited_in_line_order(app, user, bundles)


def test_the_full_path_credits_three_bundles_as_one_balance_change(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    demo_catalog: dict[str, Any],
    one_statement_off: None,
) -> None:
    buy_tokens(api, user, demo_catalog["tokens-50"])
    bundles = (demo_catalog["tokens-100"], demo_catalog["tokens-250"], demo_catalog["tokens-500"])
    checkout = api.checkout(user, token_bundle_ids=bundles)

    with recorded_statements(app) as statements, executemany_calls(app) as batched:
        response = post_webhook(client, capture_payload(checkout["invoice"]))

    assert response.status_code == 200 and response.get_json()["status"] == "success"
    assert not [sql for _, sql in statements if "billing_capture_bundles" in sql]
    assert statements_on(statements, "user_token_balances", "UPDATE") == 1
    assert statements_on(statements, "token_transactions", "INSERT INTO") == 1
    assert statements_on(statements, "token_bundle_purchases", "SELECT") == 1
    assert statements_on(statements, "token_bundle_purchases", "UPDATE") == 1
    assert batched == []  # none of them one round trip per row (psycopg2's executemany)
    # the line items come with the locked invoice, not in a statement of their own
    assert not [sql for _, sql in statements if sql.startswith("SELECT invoice_line_items")]
    assert_credited_in_line_order(app, user, bundles)


def assert_credited_in_line_order(
    app: BillingApp, user: RegisteredUser, bundles: tuple[Any, ...]
) -> None:
    """After a balance of 50, bundles of 100, 250 and 500: four entries in sequence, each
    with its running balance, the purchases completed, the counters exact."""
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
    with app.app_context():
        balance = db.session.get(UserTokenBalance, user.id)
        assert balance is not None
        assert (balance.balance, balance.total_purchased, balance.total_spent) == (900, 900, 0)
        assert (balance.held, balance.version) == (0, 4)
