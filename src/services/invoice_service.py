"""Invoices: one per checkout, one line per thing bought, one currency."""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from src.errors import NotFound, ValidationFailed
from src.models.invoice import Invoice, InvoiceLineItem, InvoiceStatus, LineItemType
from src.pagination import Cursor, PageResult
from src.services.ports import InvoiceRepositoryPort

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class LineItemDraft:
    """A line before it is an invoice row; the price always comes from the catalog."""

    item_type: LineItemType
    item_id: uuid.UUID
    description: str
    quantity: int
    unit_price: Decimal
    currency: str


def format_invoice_number(sequence_value: int) -> str:
    return f"INV-{sequence_value:06d}"


class InvoiceService:
    def __init__(self, invoices: InvoiceRepositoryPort) -> None:
        self._invoices = invoices

    @staticmethod
    def single_currency(currencies: Iterable[str]) -> str:
        """The one currency of an invoice; mixed currencies are 400 ``currency_mismatch``."""
        distinct = sorted(set(currencies))
        if len(distinct) != 1:
            raise ValidationFailed(
                "All items of one checkout must share a currency.",
                code="currency_mismatch",
                details={"currencies": distinct},
            )
        return distinct[0]

    def create_invoice(self, user_id: uuid.UUID, drafts: Sequence[LineItemDraft]) -> Invoice:
        """A PENDING invoice with a fresh number and its lines in the order given."""
        currency = self.single_currency(draft.currency for draft in drafts)
        lines = [
            InvoiceLineItem(
                position=position,
                item_type=draft.item_type,
                item_id=draft.item_id,
                description=draft.description,
                quantity=draft.quantity,
                unit_price=draft.unit_price,
                total_price=draft.unit_price * draft.quantity,
            )
            for position, draft in enumerate(drafts)
        ]
        invoice = Invoice(
            user_id=user_id,
            number=format_invoice_number(self._invoices.next_number()),
            status=InvoiceStatus.PENDING,
            currency=currency,
            total_amount=sum((line.total_price for line in lines), ZERO),
            line_items=lines,
        )
        return self._invoices.add(invoice)

    def get_for_user(self, invoice_id: uuid.UUID, user_id: uuid.UUID) -> Invoice:
        """Another user's invoice is indistinguishable from a missing one: 404."""
        invoice = self._invoices.get_for_user(invoice_id, user_id)
        if invoice is None:
            raise NotFound("invoice")
        return invoice

    def list_for_user(
        self, user_id: uuid.UUID, limit: int, after: Cursor | None
    ) -> PageResult[Invoice]:
        return self._invoices.list_page(user_id=user_id, status=None, limit=limit, after=after)
