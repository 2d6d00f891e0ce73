"""The consume benchmark's checks after each phase: no token lost, invented or charged twice.

A phase's consumes are recognised by their reference prefix. What the load says it did (the
API's 201 answers, or pgbench's processed transactions) is compared with the usage rows, the
balance drops and the ledger entries in SQL; an unanswered request (no answer, 5xx) may or
may not have been recorded and is tolerated either way. Kept apart from ``bench/consume.py``
(the scenario and its phases) because it is the part that says whether the figures count.
"""

from collections import Counter
from dataclasses import dataclass
from typing import Any

from bench.database import execute, ledger_violations, query, token_balances

USAGES_PER_USER = """
    SELECT user_id::text, count(*) FROM token_usages WHERE reference LIKE %s GROUP BY user_id
"""
# Every usage of the phase: charged 1 token, with exactly its ledger entry (-1, same
# balance_after); and no balance_after twice for one user (each debit saw its own balance).
USAGE_LEDGER = """
    SELECT count(*),
           count(*) FILTER (WHERE u.charged_tokens = 1 AND u.source = 'tokens'
                              AND t.amount = -1 AND t.balance_after = u.balance_after),
           count(*) - count(DISTINCT (u.user_id, u.balance_after))
    FROM token_usages u
    LEFT JOIN token_transactions t
           ON t.transaction_type = 'usage' AND t.reference_type = 'token_usage'
          AND t.reference_id = u.id
    WHERE u.reference LIKE %s
"""


@dataclass
class PhaseCheck:
    lines: list[str]
    problems: list[str]


def verify_phase(
    database_url: str,
    prefix: str,
    before: dict[str, int],
    claimed: int,
    claimed_per_user: Counter[str] | None,
    uncertain: int,
    answered_balances: dict[str, list[int]] | None,
) -> PhaseCheck:
    """Compare what the load says it did (``claimed`` successes) with the rows of the phase
    (references starting with ``prefix``), and check the ledger."""
    # Tens of thousands of rows arrived since autovacuum last looked: without fresh statistics
    # the planner takes the tables for tiny and the checks' joins go quadratic.
    execute(database_url, "ANALYZE token_usages, token_transactions, user_token_balances")
    like = prefix.replace("_", r"\_").replace("%", r"\%") + "%"
    rows_per_user = Counter(
        {str(user): int(count) for user, count in query(database_url, USAGES_PER_USER, (like,))}
    )
    rows = sum(rows_per_user.values())
    after = token_balances(database_url)
    drops_ok = sum(
        1 for user, balance in before.items() if balance - after.get(user, 0) == rows_per_user[user]
    )
    usages, consistent, repeated = query(database_url, USAGE_LEDGER, (like,))[0]
    violations = ledger_violations(database_url)
    problems: list[str] = []
    tolerance = uncertain  # an unanswered request may or may not have been recorded
    if not (claimed <= rows <= claimed + tolerance):
        problems.append(f"{prefix}: {rows} usage rows, but the load counted {claimed} successes")
    matched = ""
    if claimed_per_user is not None:
        seen = set(rows_per_user) | set(claimed_per_user)
        users_ok = sum(
            1
            for user in seen
            if claimed_per_user[user] <= rows_per_user[user] <= claimed_per_user[user] + tolerance
        )
        matched = f" ({users_ok}/{len(seen)} users)"
        if users_ok != len(seen):
            problems.append(f"{prefix}: usage rows differ from successes for some users")
    if drops_ok != len(before):
        problems.append(f"{prefix}: balance drop != usage rows for {len(before) - drops_ok} users")
    if consistent != usages or repeated:
        problems.append(
            f"{prefix}: {usages - consistent} usages without their ledger entry, "
            f"{repeated} repeated balance_after"
        )
    if violations:
        problems += [f"ledger violation: {row}" for row in violations[:10]]
    returned = ""
    if answered_balances is not None:
        stored = {
            str(user): sorted(int(value) for (value,) in _balances_after(database_url, like, user))
            for user in answered_balances
        }
        same = all(sorted(answered_balances[user]) == stored[user] for user in answered_balances)
        if not same and not uncertain:
            problems.append(f"{prefix}: balances answered by the API differ from the usage rows")
        returned = f"; answered balances = rows' balance_after: {'yes' if same else 'NO'}"
    lines = [
        f"  check: {rows} usage rows = {claimed} successes{matched}; "
        f"balance drops = rows for {drops_ok}/{len(before)} users; "
        f"{consistent}/{usages} with their ledger entry; {repeated} repeated balance_after"
        f"{returned}",
        "  check: ledger invariant (balance = SUM(amount), newest balance_after, sequence "
        f"1..version, totals): {'holds' if not violations else 'BROKEN'} "
        f"({len(after)} balance rows)",
    ]
    return PhaseCheck(lines, problems)


def _balances_after(database_url: str, like: str, user: str) -> list[tuple[Any, ...]]:
    return query(
        database_url,
        "SELECT balance_after FROM token_usages WHERE reference LIKE %s AND user_id = %s::uuid",
        (like, user),
    )
