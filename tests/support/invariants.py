"""The whole-database check after a fault or a random workload: every rule money obeys.

``database_violations`` returns one line per broken rule (empty: all hold):
- the ledger invariant of tests/support/ledger.py (balance = sum of entries, the
  balance_after chain, versions, totals, holds);
- no negative balance, no negative held;
- each external id applied once: a payment reference per provider, a webhook event id per
  provider, a usage reference per user, a ledger reference per kind;
- an invoice that was paid (paid or refunded since) has exactly one payment that took the
  money (completed, partially refunded, refunded or disputed) and every token bundle on it
  was credited exactly once; an invoice that was never paid has neither;
- a charged use has exactly one usage entry of minus its tokens; a use that charged nothing
  has none; a refunded use has its refund entry.
"""

from sqlalchemy import text

from src.app import BillingApp
from src.extensions import db
from tests.support.ledger import ledger_violations

TOOK_MONEY = "('completed', 'partially_refunded', 'refunded', 'disputed')"

CHECKS: dict[str, str] = {
    "negative balance": (
        "SELECT user_id, balance, held FROM user_token_balances WHERE balance < 0 OR held < 0"
    ),
    "payment reference applied twice": """
        SELECT provider, provider_reference, COUNT(*) FROM payments
        WHERE provider_reference IS NOT NULL
        GROUP BY provider, provider_reference HAVING COUNT(*) > 1""",
    "invoice reference applied twice": """
        SELECT provider, payment_reference, COUNT(*) FROM invoices
        WHERE payment_reference IS NOT NULL
        GROUP BY provider, payment_reference HAVING COUNT(*) > 1""",
    "webhook event applied twice": """
        SELECT provider, event_id, COUNT(*) FROM webhook_events
        GROUP BY provider, event_id HAVING COUNT(*) > 1""",
    "usage reference applied twice": """
        SELECT user_id, reference, COUNT(*) FROM token_usages
        GROUP BY user_id, reference HAVING COUNT(*) > 1""",
    "ledger reference applied twice": """
        SELECT transaction_type, reference_type, reference_id, COUNT(*) FROM token_transactions
        WHERE reference_id IS NOT NULL
        GROUP BY transaction_type, reference_type, reference_id HAVING COUNT(*) > 1""",
    "paid invoice without exactly one payment": f"""
        SELECT i.id, i.status, COUNT(p.id) FROM invoices i
        LEFT JOIN payments p ON p.invoice_id = i.id AND p.status IN {TOOK_MONEY}
        WHERE i.status IN ('paid', 'refunded')
        GROUP BY i.id, i.status HAVING COUNT(p.id) <> 1""",
    "unpaid invoice with a payment": f"""
        SELECT i.id, i.status, p.id, p.status FROM invoices i
        JOIN payments p ON p.invoice_id = i.id AND p.status IN {TOOK_MONEY}
        WHERE i.status NOT IN ('paid', 'refunded')""",
    "paid invoice's tokens not credited exactly once": """
        SELECT i.id, l.item_id, COUNT(t.id) FROM invoices i
        JOIN invoice_line_items l ON l.invoice_id = i.id AND l.item_type = 'token_bundle'
        LEFT JOIN token_transactions t ON t.transaction_type = 'purchase'
             AND t.reference_type = 'token_bundle_purchase' AND t.reference_id = l.item_id
        WHERE i.status IN ('paid', 'refunded')
        GROUP BY i.id, l.item_id HAVING COUNT(t.id) <> 1""",
    "unpaid invoice's tokens credited": """
        SELECT i.id, i.status, t.id FROM invoices i
        JOIN invoice_line_items l ON l.invoice_id = i.id AND l.item_type = 'token_bundle'
        JOIN token_transactions t ON t.transaction_type = 'purchase'
             AND t.reference_id = l.item_id
        WHERE i.status NOT IN ('paid', 'refunded')""",
    "charged use without exactly its ledger entry": """
        SELECT u.id, u.charged_tokens, COUNT(t.id), COALESCE(SUM(t.amount), 0) FROM token_usages u
        LEFT JOIN token_transactions t ON t.transaction_type = 'usage'
             AND t.reference_type = 'token_usage' AND t.reference_id = u.id
        GROUP BY u.id, u.charged_tokens
        HAVING (u.charged_tokens > 0 AND (COUNT(t.id) <> 1
                                          OR COALESCE(SUM(t.amount), 0) <> -u.charged_tokens))
            OR (u.charged_tokens = 0 AND COUNT(t.id) <> 0)""",
    "refunded use without its refund entry": """
        SELECT u.id, u.charged_tokens FROM token_usages u
        WHERE u.status = 'refunded' AND u.charged_tokens > 0 AND NOT EXISTS (
            SELECT 1 FROM token_transactions t WHERE t.transaction_type = 'refund'
               AND t.reference_type = 'token_usage' AND t.reference_id = u.id
               AND t.amount = u.charged_tokens)""",
    "ledger entry of a use that does not exist": """
        SELECT t.id, t.transaction_type FROM token_transactions t
        WHERE t.reference_type = 'token_usage'
          AND NOT EXISTS (SELECT 1 FROM token_usages u WHERE u.id = t.reference_id)""",
}


def database_violations(app: BillingApp) -> list[str]:
    """Every broken rule, one line each, with the offending rows."""
    found = [f"ledger invariant: {row}" for row in ledger_violations(app)]
    with app.app_context():
        for rule, query in CHECKS.items():
            rows = [tuple(row) for row in db.session.execute(text(query))]
            found.extend(f"{rule}: {row}" for row in rows)
        db.session.rollback()
    return found


def counts(app: BillingApp) -> dict[str, int]:
    """How much the database holds (for a failure message, and to prove a run did work)."""
    tables = ("invoices", "payments", "token_transactions", "token_usages", "payment_refunds")
    with app.app_context():
        found = {
            table: int(db.session.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())
            for table in tables
        }
        db.session.rollback()
        return found
