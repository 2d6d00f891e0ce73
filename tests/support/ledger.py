"""The ledger invariant, checked after every integration test.

For every user: balance == sum of ledger amounts; the newest entry's balance_after == balance;
sequences run 1..version without gaps; total_purchased and total_spent match the entries;
held == sum of the entries' held deltas == sum of the open holds.
"""

from sqlalchemy import text

from src.app import BillingApp
from src.extensions import db

INVARIANT_VIOLATIONS = text("""
    WITH ledger AS (
        SELECT user_id,
               COALESCE(SUM(amount), 0) AS total,
               COUNT(*) AS entries,
               COALESCE(MAX(sequence), 0) AS last_sequence,
               COALESCE(SUM(held_delta), 0) AS held,
               COALESCE(SUM(amount) FILTER (
                   WHERE transaction_type = 'purchase'
                      OR (transaction_type = 'refund' AND amount < 0)), 0) AS purchased,
               COALESCE(-SUM(amount) FILTER (
                   WHERE transaction_type = 'usage'
                      OR (transaction_type = 'refund' AND amount > 0)), 0) AS spent
        FROM token_transactions GROUP BY user_id
    ),
    open_holds AS (
        SELECT user_id, SUM(held_tokens) AS held
        FROM token_holds WHERE status = 'open' GROUP BY user_id
    ),
    newest AS (
        SELECT DISTINCT ON (user_id) user_id, balance_after
        FROM token_transactions ORDER BY user_id, sequence DESC
    )
    SELECT COALESCE(b.user_id, l.user_id) AS user_id, b.balance, l.total, n.balance_after,
           b.version, l.entries, l.last_sequence, b.total_purchased, l.purchased,
           b.total_spent, l.spent, b.held, l.held, h.held
    FROM user_token_balances b
    FULL JOIN ledger l ON l.user_id = b.user_id
    LEFT JOIN newest n ON n.user_id = COALESCE(b.user_id, l.user_id)
    LEFT JOIN open_holds h ON h.user_id = COALESCE(b.user_id, l.user_id)
    WHERE b.user_id IS NULL
       OR b.balance <> COALESCE(l.total, 0)
       OR (l.user_id IS NOT NULL AND n.balance_after <> b.balance)
       OR b.version <> COALESCE(l.entries, 0)
       OR b.version <> COALESCE(l.last_sequence, 0)
       OR b.total_purchased <> COALESCE(l.purchased, 0)
       OR b.total_spent <> COALESCE(l.spent, 0)
       OR b.held <> COALESCE(l.held, 0)
       OR b.held <> COALESCE(h.held, 0)
    """)


def ledger_violations(app: BillingApp) -> list[tuple[object, ...]]:
    with app.app_context():
        rows = [tuple(row) for row in db.session.execute(INVARIANT_VIOLATIONS)]
        db.session.rollback()
        return rows


def assert_ledger_consistent(app: BillingApp) -> None:
    violations = ledger_violations(app)
    assert violations == [], f"ledger invariant broken: {violations}"
