"""The token balance and its ledger: every change is one conditional UPDATE plus its entries."""

import uuid
from dataclasses import dataclass

from src.errors import Conflict, PaymentRequired
from src.models.token_ledger import TokenTransaction, TokenTransactionType
from src.pagination import SequenceCursor
from src.repositories.token_repository import BalanceChange, LedgerMismatch, LedgerPage
from src.services.ports import TokenRepositoryPort


@dataclass(frozen=True)
class BalanceView:
    balance: int
    total_purchased: int
    total_spent: int
    held: int = 0  # reserved by open holds

    @property
    def available(self) -> int:
        return self.balance - self.held


@dataclass(frozen=True)
class LedgerReference:
    """What an entry is about, e.g. ("token_bundle_purchase", <purchase id>)."""

    type: str
    id: uuid.UUID


@dataclass(frozen=True)
class Credit:
    """One entry of ``TokenService.credit_many``."""

    amount: int
    reference: LedgerReference
    description: str


def _counter_deltas(kind: TokenTransactionType, amount: int) -> tuple[int, int]:
    """How an entry moves (total_purchased, total_spent) besides the balance.

    A usage is spending; refunding a usage un-spends it. A purchase adds to what was bought;
    refunding a purchase (a negative refund) takes it back. Bonuses and adjustments are
    neither, so the two totals stay exact.
    """
    if kind is TokenTransactionType.PURCHASE:
        return amount, 0
    if kind is TokenTransactionType.USAGE:
        return 0, -amount
    if kind is TokenTransactionType.REFUND:
        return (amount, 0) if amount < 0 else (0, -amount)
    return 0, 0


class TokenService:
    def __init__(self, tokens: TokenRepositoryPort) -> None:
        self._tokens = tokens

    def credit_tokens(
        self,
        user_id: uuid.UUID,
        amount: int,
        *,
        kind: TokenTransactionType,
        reference: LedgerReference | None,
        description: str,
        created_by: uuid.UUID | None = None,
    ) -> TokenTransaction:
        """Add ``amount`` (> 0) tokens, inside the caller's transaction."""
        if amount <= 0:
            raise ValueError("A credit must be positive.")
        return self._change(user_id, amount, kind, reference, description, created_by)

    def credit_many(
        self, user_id: uuid.UUID, credits: list[Credit], *, kind: TokenTransactionType
    ) -> list[TokenTransaction]:
        """Several credits of one user (a capture's bundles) as one balance change.

        One conditional UPDATE moves the balance by their sum and the version by their
        count; the entries take the sequences up to that version, each with its running
        ``balance_after``, and go in one flush. The ledger reads exactly as if they had been
        credited one after the other, for a third of the statements per entry.
        """
        if not credits:
            return []
        if any(credit.amount <= 0 for credit in credits):
            raise ValueError("A credit must be positive.")
        total = sum(credit.amount for credit in credits)
        purchased_delta, spent_delta = _counter_deltas(kind, total)
        change = self._apply(user_id, total, purchased_delta, spent_delta, entries=len(credits))
        first_sequence = change.version - len(credits) + 1
        balance = change.balance - total
        entries = []
        for offset, credit in enumerate(credits):
            balance += credit.amount
            entries.append(
                TokenTransaction(
                    user_id=user_id,
                    sequence=first_sequence + offset,
                    amount=credit.amount,
                    transaction_type=kind,
                    reference_type=credit.reference.type,
                    reference_id=credit.reference.id,
                    description=credit.description,
                    balance_after=balance,
                )
            )
        return self._tokens.add_transactions(entries)

    def debit_tokens(
        self,
        user_id: uuid.UUID,
        amount: int,
        *,
        kind: TokenTransactionType,
        reference: LedgerReference | None,
        description: str,
        created_by: uuid.UUID | None = None,
    ) -> TokenTransaction:
        """Take ``amount`` (> 0) tokens; 402 ``insufficient_tokens``, nothing written, if short."""
        if amount <= 0:
            raise ValueError("A debit must be positive.")
        return self._change(user_id, -amount, kind, reference, description, created_by)

    def lock_balance(self, user_id: uuid.UUID) -> int:
        """Lock the user's balance row until commit and return the balance (0 if none)."""
        return self._tokens.lock_balance(user_id)

    def adjust(
        self, user_id: uuid.UUID, amount: int, reason: str, admin_id: uuid.UUID
    ) -> TokenTransaction:
        """An admin's bonus (> 0) or correction (< 0), never below zero (409 otherwise)."""
        if amount > 0:
            return self.credit_tokens(
                user_id,
                amount,
                kind=TokenTransactionType.BONUS,
                reference=None,
                description=reason,
                created_by=admin_id,
            )
        try:
            return self.debit_tokens(
                user_id,
                -amount,
                kind=TokenTransactionType.ADJUSTMENT,
                reference=None,
                description=reason,
                created_by=admin_id,
            )
        except PaymentRequired as error:
            raise Conflict(
                "The correction would take the balance below zero.",
                code="balance_would_go_negative",
                details=error.details,
            ) from error

    def reconcile(self) -> list[LedgerMismatch]:
        return self._tokens.ledger_mismatches()

    def get_balance(self, user_id: uuid.UUID) -> BalanceView:
        row = self._tokens.get_balance(user_id)
        if row is None:
            return BalanceView(balance=0, total_purchased=0, total_spent=0)
        return BalanceView(row.balance, row.total_purchased, row.total_spent, row.held or 0)

    def move_held(
        self,
        user_id: uuid.UUID,
        *,
        balance_delta: int,
        held_delta: int,
        kind: TokenTransactionType,
        reference: LedgerReference,
        description: str,
    ) -> TokenTransaction:
        """One conditional UPDATE of balance and held (a hold, a settle, a release) plus its
        ledger entry; 402 ``insufficient_tokens`` with {available, required} when a hold would
        take available below zero."""
        purchased_delta, spent_delta = _counter_deltas(kind, balance_delta)
        change = self._tokens.apply_change(
            user_id, balance_delta, purchased_delta, spent_delta, held_delta
        )
        if change is None and held_delta > 0 and self._tokens.get_balance(user_id) is None:
            self._tokens.open_balance(user_id)
            change = self._tokens.apply_change(
                user_id, balance_delta, purchased_delta, spent_delta, held_delta
            )
        if change is None:
            view = self.get_balance(user_id)
            raise PaymentRequired(
                "Not enough tokens.",
                code="insufficient_tokens",
                details={"available": view.available, "required": held_delta - balance_delta},
            )
        transaction = TokenTransaction(
            user_id=user_id,
            sequence=change.version,
            amount=balance_delta,
            held_delta=held_delta,
            transaction_type=kind,
            reference_type=reference.type,
            reference_id=reference.id,
            description=description,
            balance_after=change.balance,
        )
        return self._tokens.add_transaction(transaction)

    def list_transactions(
        self, user_id: uuid.UUID, limit: int, after: SequenceCursor | None
    ) -> LedgerPage:
        return self._tokens.list_transactions(user_id, limit, after)

    def _change(
        self,
        user_id: uuid.UUID,
        amount: int,
        kind: TokenTransactionType,
        reference: LedgerReference | None,
        description: str,
        created_by: uuid.UUID | None,
    ) -> TokenTransaction:
        purchased_delta, spent_delta = _counter_deltas(kind, amount)
        change = self._apply(user_id, amount, purchased_delta, spent_delta)
        transaction = TokenTransaction(
            user_id=user_id,
            sequence=change.version,
            amount=amount,
            transaction_type=kind,
            reference_type=reference.type if reference else None,
            reference_id=reference.id if reference else None,
            description=description,
            balance_after=change.balance,
            created_by=created_by,
        )
        return self._tokens.add_transaction(transaction)

    def _apply(
        self,
        user_id: uuid.UUID,
        amount: int,
        purchased_delta: int,
        spent_delta: int,
        entries: int = 1,
    ) -> BalanceChange:
        change = self._tokens.apply_change(
            user_id, amount, purchased_delta, spent_delta, entries=entries
        )
        if change is not None:
            return change
        current = self._tokens.get_balance(user_id)
        if current is None:
            self._tokens.open_balance(user_id)
            change = self._tokens.apply_change(
                user_id, amount, purchased_delta, spent_delta, entries=entries
            )
            if change is not None:
                return change
        balance = current.balance if current is not None else 0
        raise PaymentRequired(
            "Not enough tokens.",
            code="insufficient_tokens",
            details={"balance": balance, "required": -amount},
        )
