"""What a chargeback took from the ledger, so a dispute won gives back exactly that."""

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select

from src.models.token_ledger import TokenTransaction, TokenTransactionType
from src.repositories.base import SessionProxy


class DisputeRepository:
    def __init__(self, session: SessionProxy) -> None:
        self._session = session

    def tokens_taken(
        self, reference_type: str, purchase_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, int]:
        """Tokens the dispute's debits took per purchase (positive numbers)."""
        if not purchase_ids:
            return {}
        query = (
            select(TokenTransaction.reference_id, func.sum(TokenTransaction.amount))
            .where(
                TokenTransaction.transaction_type == TokenTransactionType.REFUND,
                TokenTransaction.reference_type == reference_type,
                TokenTransaction.reference_id.in_(purchase_ids),
            )
            .group_by(TokenTransaction.reference_id)
        )
        return {
            reference_id: -int(total)
            for reference_id, total in self._session.execute(query).all()
            if reference_id is not None
        }
