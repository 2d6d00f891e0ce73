"""Token balances and their append-only ledger."""

import uuid

from src.clock import utc_now
from src.models.token_ledger import TokenTransaction, TokenTransactionType, UserTokenBalance
from src.pagination import SequenceCursor
from src.repositories.base import DuplicateRow
from src.repositories.token_repository import BalanceChange, LedgerMismatch, LedgerPage
from tests.unit.fakes.rows import CheckViolation, apply_defaults


class FakeTokenRepository:
    """``apply_change`` is the conditional UPDATE: ``None`` when the row is missing or the
    balance would go below zero, else the new (balance, version). The ledger's unique
    constraints raise ``DuplicateRow``; there is no rollback (the dispatcher's job)."""

    def __init__(self) -> None:
        self.balances: dict[uuid.UUID, UserTokenBalance] = {}
        self.transactions: list[TokenTransaction] = []
        self.locked: list[uuid.UUID] = []  # users whose balance row was locked, in order

    def get_balance(self, user_id: uuid.UUID) -> UserTokenBalance | None:
        return self.balances.get(user_id)

    def lock_balance(self, user_id: uuid.UUID) -> int:
        """SELECT balance ... FOR UPDATE: the balance, 0 when the user has no row."""
        self.locked.append(user_id)
        row = self.balances.get(user_id)
        return row.balance if row is not None else 0

    def apply_change(
        self,
        user_id: uuid.UUID,
        balance_delta: int,
        purchased_delta: int,
        spent_delta: int,
        held_delta: int = 0,
        entries: int = 1,
    ) -> BalanceChange | None:
        """Refused when what stays available (balance - held) would go below zero."""
        row = self.balances.get(user_id)
        if row is None:
            return None
        held = (row.held or 0) + held_delta
        if held < 0 or row.balance + balance_delta - held < 0:
            return None
        purchased, spent = row.total_purchased + purchased_delta, row.total_spent + spent_delta
        if purchased < 0 or spent < 0:
            raise CheckViolation(f"negative totals: {purchased=}, {spent=}")
        row.balance += balance_delta
        row.held = held
        row.total_purchased, row.total_spent = purchased, spent
        row.version, row.updated_at = row.version + entries, utc_now()
        return BalanceChange(balance=row.balance, version=row.version, held=row.held)

    def open_balance(self, user_id: uuid.UUID) -> None:
        if user_id not in self.balances:
            self.balances[user_id] = UserTokenBalance(
                user_id=user_id,
                balance=0,
                held=0,
                total_purchased=0,
                total_spent=0,
                version=0,
                updated_at=utc_now(),
            )

    def add_transaction(self, transaction: TokenTransaction) -> TokenTransaction:
        """Like uq (user_id, sequence) and uq (transaction_type, reference_type, reference_id);
        a NULL never collides, as in SQL."""
        new = transaction
        if (new.amount == 0 and not new.held_delta) or new.balance_after < 0:
            raise CheckViolation(f"amount={new.amount}, balance_after={new.balance_after}")
        if any(
            (row.user_id, row.sequence) == (new.user_id, new.sequence) for row in self.transactions
        ):
            raise DuplicateRow("uq_token_transactions_user_id_sequence")
        if new.reference_type is not None and new.reference_id is not None:
            if self.find_transaction(new.transaction_type, new.reference_type, new.reference_id):
                raise DuplicateRow("uq_token_transactions_transaction_type_reference")
        apply_defaults(new)
        self.transactions.append(new)
        return new

    def add_transactions(self, transactions: list[TokenTransaction]) -> list[TokenTransaction]:
        return [self.add_transaction(transaction) for transaction in transactions]

    def find_transaction(
        self, transaction_type: TokenTransactionType, reference_type: str, reference_id: uuid.UUID
    ) -> TokenTransaction | None:
        key = (transaction_type, reference_type, reference_id)
        return next(
            (
                t
                for t in self.transactions
                if (t.transaction_type, t.reference_type, t.reference_id) == key
            ),
            None,
        )

    def list_transactions(
        self, user_id: uuid.UUID, limit: int, after: SequenceCursor | None
    ) -> LedgerPage:
        rows = self.entries_for(user_id)[::-1]
        rows = [row for row in rows if after is None or row.sequence < after.sequence]
        if len(rows) <= limit:
            return LedgerPage(items=rows, next_cursor=None)
        return LedgerPage(items=rows[:limit], next_cursor=SequenceCursor(rows[limit - 1].sequence))

    def entries_for(self, user_id: uuid.UUID) -> list[TokenTransaction]:
        """The user's ledger, oldest first."""
        mine = (row for row in self.transactions if row.user_id == user_id)
        return sorted(mine, key=lambda row: row.sequence)

    def ledger_mismatches(self) -> list[LedgerMismatch]:
        """As the SQL does: every balance that is not its ledger's sum, or that the entry of
        its current version does not show, and every ledger without a balance row."""
        mismatches = []
        for user, row in self.balances.items():
            entries = self.entries_for(user)
            total = sum(entry.amount for entry in entries)
            latest = next((e.balance_after for e in entries if e.sequence == row.version), None)
            if row.balance != total or (row.version > 0 and latest != row.balance):
                mismatches.append(LedgerMismatch(user, row.balance, total, latest))
        orphans = {entry.user_id for entry in self.transactions} - set(self.balances)
        for user in sorted(orphans):
            total = sum(entry.amount for entry in self.entries_for(user))
            mismatches.append(LedgerMismatch(user, None, total, None))
        return mismatches
