"""Payment records."""

import uuid

from sqlalchemy import select

from src.models.payment import Payment
from src.repositories.base import SessionProxy, get_locked


class PaymentRepository:
    def __init__(self, session: SessionProxy) -> None:
        self._session = session

    def add(self, payment: Payment) -> Payment:
        self._session.add(payment)
        self._session.flush()
        return payment

    def get(self, payment_id: uuid.UUID, *, for_update: bool = False) -> Payment | None:
        if for_update:
            return get_locked(self._session, Payment, payment_id)
        return self._session.get(Payment, payment_id)

    def list_for_invoice(self, invoice_id: uuid.UUID) -> list[Payment]:
        query = select(Payment).where(Payment.invoice_id == invoice_id).order_by(Payment.created_at)
        return list(self._session.scalars(query))
