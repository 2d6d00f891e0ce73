"""Token balance and ledger entries as their owner sees them."""

import uuid
from datetime import datetime

from pydantic import Field

from src.models.token_ledger import TokenTransaction, TokenTransactionType
from src.pagination import encode_sequence_cursor
from src.repositories.token_repository import LedgerPage
from src.schemas.common import Page, ResponseModel
from src.services.token_service import BalanceView


class TokenBalanceOut(ResponseModel):
    balance: int = Field(description="available + held")
    available: int = Field(description="What can be spent or held now.")
    held: int = Field(description="Reserved by open holds.")
    total_purchased: int
    total_spent: int

    @classmethod
    def of(cls, view: BalanceView) -> "TokenBalanceOut":
        return cls(
            balance=view.balance,
            available=view.available,
            held=view.held,
            total_purchased=view.total_purchased,
            total_spent=view.total_spent,
        )


class TokenTransactionOut(ResponseModel):
    id: uuid.UUID
    amount: int = Field(description="Positive for credits, negative for debits.")
    type: TokenTransactionType
    reference_type: str | None
    reference_id: uuid.UUID | None
    description: str
    balance_after: int
    created_at: datetime

    @classmethod
    def of(cls, entry: TokenTransaction) -> "TokenTransactionOut":
        return cls(
            id=entry.id,
            amount=entry.amount,
            type=entry.transaction_type,
            reference_type=entry.reference_type,
            reference_id=entry.reference_id,
            description=entry.description,
            balance_after=entry.balance_after,
            created_at=entry.created_at,
        )


class TokenTransactionPage(Page[TokenTransactionOut]):
    """A page of ledger entries, newest first."""

    @classmethod
    def from_page(cls, page: LedgerPage) -> "TokenTransactionPage":
        """The one rendering of a ledger page (user, service and admin routes)."""
        cursor = encode_sequence_cursor(page.next_cursor) if page.next_cursor else None
        return cls(
            items=[TokenTransactionOut.of(entry) for entry in page.items], next_cursor=cursor
        )
