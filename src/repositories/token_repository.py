"""Balances and ledger entries. Balance changes are single conditional UPDATEs."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.exc import DataError
from sqlalchemy.orm import aliased

from src.clock import utc_now
from src.errors import BalanceLimitExceeded
from src.models.token_hold import HoldStatus, TokenHold
from src.models.token_ledger import TokenTransaction, UserTokenBalance
from src.pagination import SequenceCursor
from src.repositories.base import SessionProxy, unique_violations_as_duplicates

NUMERIC_VALUE_OUT_OF_RANGE = "22003"
INT32_MAX = 2_147_483_647  # the balance columns are PostgreSQL ``integer``


@contextmanager
def out_of_range_as_balance_limit() -> Iterator[None]:
    """22003, a total past the ``integer`` column's range: a clear 422 (an admin's adjustment
    or mark-paid); for money a provider confirmed, the capture's savepoint turns it into
    ``requires_refund``. Never a 500."""
    try:
        yield
    except DataError as error:
        if getattr(error.orig, "pgcode", None) != NUMERIC_VALUE_OUT_OF_RANGE:
            raise
        raise BalanceLimitExceeded(
            f"This change would take the token balance past its limit ({INT32_MAX:,} tokens)."
        ) from error


@dataclass(frozen=True)
class BalanceChange:
    """What one UPDATE did: the new balance and the version (= ledger sequence) it got."""

    balance: int
    version: int
    held: int = 0


@dataclass(frozen=True)
class LedgerMismatch:
    user_id: uuid.UUID
    balance: int | None
    ledger_total: int
    latest_balance_after: int | None
    # Set when the held tokens disagree: held on the row, in open holds, in the ledger.
    held: int | None = None
    open_holds_total: int | None = None
    ledger_held_total: int | None = None


@dataclass(frozen=True)
class LedgerPage:
    items: list[TokenTransaction]
    next_cursor: SequenceCursor | None


class TokenRepository:
    def __init__(self, session: SessionProxy) -> None:
        self._session = session

    def get_balance(self, user_id: uuid.UUID) -> UserTokenBalance | None:
        return self._session.get(UserTokenBalance, user_id, populate_existing=True)

    def lock_balance(self, user_id: uuid.UUID) -> int:
        query = (
            select(UserTokenBalance.balance)
            .where(UserTokenBalance.user_id == user_id)
            .with_for_update()
        )
        return int(self._session.scalar(query) or 0)

    def apply_change(
        self,
        user_id: uuid.UUID,
        balance_delta: int,
        purchased_delta: int,
        spent_delta: int,
        held_delta: int = 0,
        entries: int = 1,
    ) -> BalanceChange | None:
        """Move the balance by ``balance_delta`` (and ``held`` by ``held_delta``) unless what
        is available (balance - held) would go below zero. The version moves by ``entries``,
        the number of ledger entries the change is written as (their sequences end at it).

        One ``UPDATE ... WHERE balance + delta >= 0 RETURNING``: the row lock it takes
        serialises concurrent changes of one user, and the condition makes an overdraft
        impossible (the CHECK constraint is the last line of defence). ``None`` means the
        change was refused, or the user has no balance row yet.
        """
        statement = (
            update(UserTokenBalance)
            .where(
                UserTokenBalance.user_id == user_id,
                # what stays available: held tokens are never spent by anything but a settle
                UserTokenBalance.balance + balance_delta - (UserTokenBalance.held + held_delta)
                >= 0,
                UserTokenBalance.held + held_delta >= 0,
            )
            .values(
                balance=UserTokenBalance.balance + balance_delta,
                held=UserTokenBalance.held + held_delta,
                total_purchased=UserTokenBalance.total_purchased + purchased_delta,
                total_spent=UserTokenBalance.total_spent + spent_delta,
                version=UserTokenBalance.version + entries,
                updated_at=utc_now(),
            )
            .returning(UserTokenBalance.balance, UserTokenBalance.version, UserTokenBalance.held)
            .execution_options(synchronize_session=False)
        )
        with out_of_range_as_balance_limit():
            row = self._session.execute(statement).one_or_none()
        return None if row is None else BalanceChange(balance=row[0], version=row[1], held=row[2])

    def open_balance(self, user_id: uuid.UUID) -> None:
        """Create the user's zero balance row if it is missing (safe under concurrency)."""
        values = {
            "user_id": user_id,
            "balance": 0,
            "total_purchased": 0,
            "total_spent": 0,
            "version": 0,
            "updated_at": utc_now(),
        }
        upsert = postgresql_insert(UserTokenBalance).values(**values)
        self._session.execute(upsert.on_conflict_do_nothing())

    def add_transaction(self, transaction: TokenTransaction) -> TokenTransaction:
        return self.add_transactions([transaction])[0]

    def add_transactions(self, transactions: list[TokenTransaction]) -> list[TokenTransaction]:
        """One flush: the ORM sends the entries as a single multi-row INSERT."""
        with unique_violations_as_duplicates():
            self._session.add_all(transactions)
            self._session.flush()
        return transactions

    def ledger_mismatches(self) -> list[LedgerMismatch]:
        """Every user whose balance row disagrees with its ledger: the balance is not the sum of
        the entries, or the entry of the current version does not show that balance, or a
        ledger has no balance row at all."""
        ledger = (
            select(
                TokenTransaction.user_id.label("user_id"),
                func.sum(TokenTransaction.amount).label("total"),
            )
            .group_by(TokenTransaction.user_id)
            .subquery()
        )
        latest = aliased(TokenTransaction)
        balances = (
            select(
                UserTokenBalance.user_id,
                UserTokenBalance.balance,
                func.coalesce(ledger.c.total, 0),
                latest.balance_after,
                UserTokenBalance.version,
            )
            .join(ledger, ledger.c.user_id == UserTokenBalance.user_id, isouter=True)
            .join(
                latest,
                and_(
                    latest.user_id == UserTokenBalance.user_id,
                    latest.sequence == UserTokenBalance.version,
                ),
                isouter=True,
            )
        )
        mismatches = [
            LedgerMismatch(user_id, int(balance), int(total), latest_after)
            for user_id, balance, total, latest_after, version in self._session.execute(balances)
            if int(balance) != int(total) or (version > 0 and latest_after != balance)
        ]
        orphans = select(ledger.c.user_id, ledger.c.total).where(
            ~ledger.c.user_id.in_(select(UserTokenBalance.user_id))
        )
        mismatches += [
            LedgerMismatch(user_id, None, int(total), None)
            for user_id, total in self._session.execute(orphans)
        ]
        return mismatches + self._held_mismatches()

    def _held_mismatches(self) -> list[LedgerMismatch]:
        """Every balance whose ``held`` is not the sum of its open holds, or not the sum of
        the ledger's held deltas."""
        open_holds = (
            select(
                TokenHold.user_id.label("user_id"),
                func.sum(TokenHold.held_tokens).label("total"),
            )
            .where(TokenHold.status == HoldStatus.OPEN)
            .group_by(TokenHold.user_id)
            .subquery()
        )
        ledger = (
            select(
                TokenTransaction.user_id.label("user_id"),
                func.sum(TokenTransaction.held_delta).label("total"),
                func.sum(TokenTransaction.amount).label("amount"),
            )
            .group_by(TokenTransaction.user_id)
            .subquery()
        )
        rows = self._session.execute(
            select(
                UserTokenBalance.user_id,
                UserTokenBalance.balance,
                func.coalesce(ledger.c.amount, 0),
                UserTokenBalance.held,
                func.coalesce(open_holds.c.total, 0),
                func.coalesce(ledger.c.total, 0),
            )
            .join(open_holds, open_holds.c.user_id == UserTokenBalance.user_id, isouter=True)
            .join(ledger, ledger.c.user_id == UserTokenBalance.user_id, isouter=True)
        )
        return [
            LedgerMismatch(user_id, int(balance), int(total), None, held, int(holds), int(deltas))
            for user_id, balance, total, held, holds, deltas in rows
            if not held == int(holds) == int(deltas)
        ]

    def list_transactions(
        self, user_id: uuid.UUID, limit: int, after: SequenceCursor | None
    ) -> LedgerPage:
        """Newest first, by the ledger's own sequence (timestamps can tie; sequences cannot)."""
        query = select(TokenTransaction).where(TokenTransaction.user_id == user_id)
        if after is not None:
            query = query.where(TokenTransaction.sequence < after.sequence)
        query = query.order_by(TokenTransaction.sequence.desc()).limit(limit + 1)
        rows = list(self._session.scalars(query))
        if len(rows) <= limit:
            return LedgerPage(items=rows, next_cursor=None)
        return LedgerPage(items=rows[:limit], next_cursor=SequenceCursor(rows[limit - 1].sequence))
