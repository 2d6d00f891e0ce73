"""Invoices: one per checkout, one line per thing bought, one currency."""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from src.errors import Conflict, InvalidState, NotFound, ValidationFailed
from src.models.invoice import Invoice, InvoiceKind, InvoiceLineItem, InvoiceStatus, LineItemType
from src.pagination import Cursor, PageResult
from src.repositories.base import DuplicateRow
from src.services.ports import InvoiceRepositoryPort

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class LifecycleTerms:
    """What a renewal or proration invoice pays for: whose subscription, which period, and
    the plan it moves the subscription to (renewal: the plan priced; proration: the upgrade)."""

    kind: InvoiceKind
    subscription_id: uuid.UUID
    period_start: datetime
    period_end: datetime
    target_plan_id: uuid.UUID


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

    def create_invoice(
        self,
        user_id: uuid.UUID,
        drafts: Sequence[LineItemDraft],
        terms: LifecycleTerms | None = None,
    ) -> Invoice:
        """A PENDING invoice with a fresh number and its lines in the order given; ``terms``
        make it a subscription's renewal or proration invoice."""
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
            kind=InvoiceKind.PURCHASE,
            currency=currency,
            total_amount=sum((line.total_price for line in lines), ZERO),
            line_items=lines,
        )
        if terms is not None:
            invoice.kind = terms.kind
            invoice.subscription_id = terms.subscription_id
            invoice.period_start = terms.period_start
            invoice.period_end = terms.period_end
            invoice.target_plan_id = terms.target_plan_id
        return self._invoices.add(invoice)

    def find_renewal(self, subscription_id: uuid.UUID, period_start: datetime) -> Invoice | None:
        return self._invoices.find_renewal(subscription_id, period_start)

    def open_for_subscription(self, subscription_id: uuid.UUID) -> list[Invoice]:
        return self._invoices.open_for_subscription(subscription_id)

    def abandoned_before(self, created_before: datetime, limit: int) -> list[uuid.UUID]:
        """The pending checkout invoices old enough to expire (a bounded batch)."""
        return self._invoices.abandoned_before(created_before, limit)

    def lock_expirable(self, invoice_id: uuid.UUID, created_before: datetime) -> Invoice | None:
        """The invoice, row-locked as capture locks it, when it may still expire: a pending
        checkout invoice created at or before ``created_before``. None otherwise (paid,
        cancelled or expired meanwhile, or a renewal): expiry then leaves it alone."""
        invoice = self._invoices.get(invoice_id, for_update=True)
        if (
            invoice is None
            or invoice.status is not InvoiceStatus.PENDING
            or invoice.kind is not InvoiceKind.PURCHASE
            or invoice.created_at > created_before
        ):
            return None
        return invoice

    @staticmethod
    def expire(invoice: Invoice, now: datetime) -> None:
        """An abandoned checkout: the invoice can no longer be paid (money that still arrives
        for it is kept as ``requires_refund``, never applied)."""
        invoice.status = InvoiceStatus.EXPIRED
        invoice.cancelled_at = now

    @staticmethod
    def mark_uncollectible(invoice: Invoice, now: datetime) -> None:
        """Dunning gave up: the invoice can no longer be paid (money that still arrives for
        it is refunded, never applied)."""
        invoice.status = InvoiceStatus.UNCOLLECTIBLE
        invoice.cancelled_at = now

    @staticmethod
    def void(invoice: Invoice, now: datetime) -> None:
        """A lifecycle invoice that no longer applies (its subscription ended, or a renewal
        replaced an unpaid upgrade) is cancelled."""
        invoice.status = InvoiceStatus.CANCELLED
        invoice.cancelled_at = now

    def get_for_user(self, invoice_id: uuid.UUID, user_id: uuid.UUID) -> Invoice:
        """Another user's invoice is indistinguishable from a missing one: 404."""
        invoice = self._invoices.get_for_user(invoice_id, user_id)
        if invoice is None:
            raise NotFound("invoice")
        return invoice

    def find(self, invoice_id: uuid.UUID) -> Invoice | None:
        return self._invoices.get(invoice_id)

    def get_for_capture(self, invoice_id: uuid.UUID) -> Invoice:
        """The invoice, row-locked until commit: concurrent captures of it run one at a time."""
        invoice = self._invoices.get(invoice_id, for_update=True)
        if invoice is None:
            raise NotFound("invoice")
        return invoice

    @staticmethod
    def already_settled_by(invoice: Invoice, provider: str, reference: str) -> bool:
        """True when this very payment settled the invoice before (a duplicate delivery).

        Another payment for a settled invoice is 409 ``invoice_already_paid``; an invoice that
        can no longer be paid (cancelled, expired) is 409 ``invoice_not_payable``.
        """
        if invoice.status in (InvoiceStatus.PAID, InvoiceStatus.REFUNDED):
            if (invoice.provider, invoice.payment_reference) == (provider, reference):
                return True
            raise Conflict(
                f"Invoice {invoice.number} is already paid by another payment.",
                code="invoice_already_paid",
            )
        if invoice.status is not InvoiceStatus.PENDING:
            raise InvalidState(
                f"Invoice {invoice.number} is {invoice.status.value} and cannot be paid.",
                code="invoice_not_payable",
            )
        return False

    def get_payable_for_user(self, invoice_id: uuid.UUID, user_id: uuid.UUID) -> Invoice:
        """The owner's PENDING invoice, locked (as capture locks it); 404 / 409 otherwise."""
        invoice = self._invoices.get(invoice_id, for_update=True)
        if invoice is None or invoice.user_id != user_id:
            raise NotFound("invoice")
        if invoice.status is not InvoiceStatus.PENDING:
            raise InvalidState(
                f"Invoice {invoice.number} is {invoice.status.value} and cannot be paid.",
                code="invoice_not_payable",
            )
        return invoice

    @staticmethod
    def mark_refunded(invoice: Invoice) -> None:
        invoice.status = InvoiceStatus.REFUNDED

    def get_cancellable(self, invoice_id: uuid.UUID, user_id: uuid.UUID) -> Invoice:
        """The owner's PENDING invoice, locked; 404 / 409 ``invoice_not_cancellable``. Checked
        before its open payments are stopped at their provider, and again when it is cancelled."""
        invoice = self._invoices.get(invoice_id, for_update=True)
        if invoice is None or invoice.user_id != user_id:
            raise NotFound("invoice")
        if invoice.status is not InvoiceStatus.PENDING:
            raise InvalidState(
                f"Invoice {invoice.number} is {invoice.status.value}; only a pending invoice "
                "can be cancelled.",
                code="invoice_not_cancellable",
            )
        return invoice

    def cancel(self, invoice_id: uuid.UUID, user_id: uuid.UUID, now: datetime) -> Invoice:
        """The owner's PENDING invoice → CANCELLED (locked); 409 ``invoice_not_cancellable``."""
        invoice = self.get_cancellable(invoice_id, user_id)
        invoice.status = InvoiceStatus.CANCELLED
        invoice.cancelled_at = now
        return invoice

    def mark_paid(self, invoice: Invoice, provider: str, reference: str, now: datetime) -> Invoice:
        """PENDING → PAID. One provider payment settles one invoice: reusing a reference that
        already paid another invoice is 409 ``payment_reference_reused``."""
        invoice.status = InvoiceStatus.PAID
        invoice.provider = provider
        invoice.payment_reference = reference
        invoice.paid_at = now
        try:
            return self._invoices.save(invoice)
        except DuplicateRow as error:
            raise Conflict(
                "This payment reference already settled another invoice.",
                code="payment_reference_reused",
            ) from error

    def list_all(
        self, status: InvoiceStatus | None, limit: int, after: Cursor | None
    ) -> PageResult[Invoice]:
        """Every user's invoices (the admin view), newest first."""
        return self._invoices.list_page(user_id=None, status=status, limit=limit, after=after)

    def list_for_user(
        self, user_id: uuid.UUID, limit: int, after: Cursor | None
    ) -> PageResult[Invoice]:
        return self._invoices.list_page(user_id=user_id, status=None, limit=limit, after=after)
