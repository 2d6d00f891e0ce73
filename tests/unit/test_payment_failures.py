"""Captures that fail: the last guards of handle, and what on_failure records afterwards.

on_failure runs after the dispatcher's rollback, in a transaction of its own; here it is
called directly, with the error handle raised (or any other exception).
"""

import uuid
from decimal import Decimal

import pytest

from src.errors import ApiError, InvalidState, NotFound
from src.events.payment_events import PaymentCapturedEvent
from src.models.invoice import Invoice, InvoiceStatus
from src.models.payment import Payment, PaymentStatus
from src.models.token_ledger import TokenTransactionType
from src.repositories.base import DuplicateRow
from src.services.token_service import LedgerReference
from tests.unit.builders import PAYER, Billing, paying

ADMIN = uuid.UUID("00000000-0000-4000-8000-0000000000d2")


def unknown_invoice(
    amount: Decimal | None = Decimal("5.00"), currency: str | None = "EUR"
) -> PaymentCapturedEvent:
    """A capture naming no invoice of ours (``amount=None``: the admin path)."""
    return PaymentCapturedEvent(
        invoice_id=uuid.uuid4(),
        payment_reference="pay_x",
        provider="webhook",
        amount=amount,
        currency=currency,
        recorded_by=None if amount is not None else ADMIN,
    )


def failed_capture(billing: Billing, event: PaymentCapturedEvent) -> ApiError:
    """Handle ``event``, expect a refusal, then record it as the dispatcher would."""
    handler = billing.payment_captured_handler()
    with pytest.raises(ApiError) as caught:
        handler.handle(event)
    handler.on_failure(event, caught.value)
    return caught.value


def only_payment(billing: Billing) -> Payment:
    [payment] = billing.payments.rows.values()
    return payment


def test_capture_of_an_unknown_invoice_is_invoice_not_found(billing: Billing) -> None:
    with pytest.raises(NotFound) as caught:
        billing.payment_captured_handler().handle(unknown_invoice())

    assert caught.value.code == "invoice_not_found"


def test_reference_that_paid_another_invoice_is_that_payment_again(
    billing: Billing, invoice: Invoice
) -> None:
    """One provider payment is applied once: confirmed again for another invoice it is
    neither granted nor refunded (the money paid the first invoice)."""
    other = billing.pending_invoice(PAYER, token_bundle_ids=(billing.bundle().id,))
    billing.payment_captured_handler().handle(paying(other))

    result = billing.payment_captured_handler().handle(paying(invoice))

    assert (result.data.status, result.data.reason) == (
        "already_processed",
        "payment_reference_reused",
    )
    assert result.notifications == () and billing.job_queue.jobs == []
    assert [p.status for p in billing.payments.rows.values()] == [PaymentStatus.COMPLETED]


@pytest.mark.rolled_back
def test_capture_of_an_already_credited_purchase_raises_duplicate_row(
    billing: Billing, invoice: Invoice
) -> None:
    purchase_id = next(iter(billing.purchases.rows))
    billing.token_service().credit_tokens(
        PAYER,
        1,
        kind=TokenTransactionType.PURCHASE,
        reference=LedgerReference("token_bundle_purchase", purchase_id),
        description="credited before",
    )

    with pytest.raises(DuplicateRow):
        billing.payment_captured_handler().handle(paying(invoice))

    assert [entry.amount for entry in billing.tokens.transactions] == [1]


def test_on_failure_records_the_api_errors_code_against_the_invoice(
    billing: Billing, invoice: Invoice
) -> None:
    """An admin's settlement refused (no provider moved money) is kept as a failed attempt."""
    invoice.status = InvoiceStatus.CANCELLED
    event = paying(
        invoice, provider="manual", amount=None, currency=None, recorded_by=ADMIN, note="wire"
    )

    error = failed_capture(billing, event)

    payment = only_payment(billing)
    assert (payment.status, payment.invoice_id, payment.user_id) == (
        PaymentStatus.FAILED,
        invoice.id,
        PAYER,
    )
    assert (payment.error_code, payment.error_message) == ("invoice_not_payable", error.message)
    assert (payment.amount, payment.currency) == (Decimal("228.00"), "USD")
    assert (payment.provider, payment.provider_reference, payment.recorded_by) == (
        "manual",
        "pay_1",
        ADMIN,
    )
    assert payment.completed_at is None
    assert invoice.status is InvoiceStatus.CANCELLED


def test_on_failure_keeps_one_failed_row_per_provider_payment(
    billing: Billing, invoice: Invoice
) -> None:
    for _ in range(2):
        billing.payment_captured_handler().on_failure(paying(invoice), RuntimeError("boom"))

    assert only_payment(billing).error_code == "internal_error"


def test_on_failure_records_other_exceptions_as_internal_error_without_names_or_text(
    billing: Billing, invoice: Invoice
) -> None:
    """``error_message`` is shown to admins and clients: it names no class and repeats no
    exception text (which may carry internals such as a connection string)."""
    billing.payment_captured_handler().on_failure(
        paying(invoice), RuntimeError("connection string with a password")
    )

    payment = only_payment(billing)
    assert (payment.status, payment.invoice_id) == (PaymentStatus.FAILED, invoice.id)
    assert payment.error_code == "internal_error"
    assert payment.error_message is not None
    assert "RuntimeError" not in payment.error_message
    assert "password" not in payment.error_message


def test_on_failure_for_an_unknown_invoice_records_a_payment_without_invoice(
    billing: Billing,
) -> None:
    failed_capture(billing, unknown_invoice())

    payment = only_payment(billing)
    assert (payment.invoice_id, payment.user_id, payment.error_code) == (
        None,
        None,
        "invoice_not_found",
    )
    assert (payment.amount, payment.currency, payment.provider_reference) == (
        Decimal("5.00"),
        "EUR",
        "pay_x",
    )


def test_on_failure_on_the_admin_path_for_an_unknown_invoice_records_nothing(
    billing: Billing,
) -> None:
    failed_capture(billing, unknown_invoice(amount=None, currency=None))

    assert billing.payments.rows == {}


def test_on_failure_on_the_admin_path_records_the_invoice_total(
    billing: Billing, invoice: Invoice
) -> None:
    invoice.status = InvoiceStatus.EXPIRED
    event = paying(invoice, amount=None, currency=None, provider="manual", recorded_by=ADMIN)

    error = failed_capture(billing, event)

    assert isinstance(error, InvalidState)
    payment = only_payment(billing)
    assert (payment.amount, payment.currency, payment.recorded_by, payment.error_code) == (
        Decimal("228.00"),
        "USD",
        ADMIN,
        "invoice_not_payable",
    )
