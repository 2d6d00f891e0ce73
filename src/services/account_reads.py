"""Who may call, and what they own, read in one round trip on the hot paths."""

import uuid

from src.services.ports import AccountReadRepositoryPort
from src.services.token_service import BalanceView


class AccountReadService:
    def __init__(self, reads: AccountReadRepositoryPort) -> None:
        self._reads = reads

    def account_exists(self, user_id: uuid.UUID) -> bool:
        return self._reads.account_exists(user_id)

    def balance(self, user_id: uuid.UUID) -> BalanceView | None:
        """The balance, or None when the account is gone (a token may outlive its user).

        A balance row proves the account (its foreign key), so the common read is one
        lookup; only a user without a row yet costs a second one.
        """
        row = self._reads.balance(user_id)
        if row is not None:
            return BalanceView(row.balance, row.total_purchased, row.total_spent, row.held)
        if not self._reads.account_exists(user_id):
            return None
        return BalanceView(balance=0, total_purchased=0, total_spent=0)
