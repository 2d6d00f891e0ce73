"""PaymentCapturedHandler.handle over in-memory fakes: success, duplicates and refusals.

What a failed capture leaves behind (on_failure) is in test_payment_failures.py.
"""

import uuid
from decimal import Decimal

import pytest

from src.errors import ApiError, Conflict, InvalidState
from src.events.payment_events import (
    AddOnActivatedEvent,
    InvoicePaidEvent,
    PaymentCapturedEvent,
    PaymentRequiresRefundEvent,
    SubscriptionActivatedEvent,
    TokensCreditedEvent,
)
from src.events.payment_results import CaptureOutcome
from src.models.invoice import Invoice, InvoiceStatus
from src.models.payment import Payment, PaymentStatus
from src.models.subscription import SubscriptionStatus
from src.models.token_bundle import PurchaseStatus
from src.models.token_ledger import TokenTransactionType
from tests.unit.builders import PAYER, Billing, paying

ADMIN = uuid.UUID("00000000-0000-4000-8000-0000000000c2")


def state(billing: Billing, invoice: Invoice) -> tuple[object, ...]:
    """Every value a capture may change, copied out of the fakes."""
    return (
        (invoice.status, invoice.provider, invoice.payment_reference, invoice.paid_at),
        [(r.status, r.starts_at, r.expires_at) for r in billing.subscriptions.rows.values()],
        [(r.status, r.completed_at) for r in billing.purchases.rows.values()],
        [(r.status, r.expires_at) for r in billing.addon_subscriptions.rows.values()],
        [(b.balance, b.version) for b in billing.tokens.balances.values()],
        billing.row_counts(),
    )


def refused(billing: Billing, invoice: Invoice, event: PaymentCapturedEvent) -> ApiError:
    before = state(billing, invoice)
    with pytest.raises(ApiError) as caught:
        billing.payment_captured_handler().handle(event)
    assert state(billing, invoice) == before, "a refused capture changed something"
    return caught.value


def test_capture_activates_every_line_type_and_settles_the_invoice(
    billing: Billing, invoice: Invoice
) -> None:
    result = billing.payment_captured_handler().handle(paying(invoice))

    assert invoice.total_amount == Decimal("228.00")
    assert result.data == CaptureOutcome("success", invoice.id, 4)
    assert (invoice.status, invoice.provider, invoice.payment_reference) == (
        InvoiceStatus.PAID,
        "webhook",
        "pay_1",
    )
    [subscription] = billing.subscriptions.rows.values()
    [add_on] = billing.addon_subscriptions.rows.values()
    assert subscription.status is SubscriptionStatus.ACTIVE
    assert (add_on.status, add_on.expires_at) == (
        SubscriptionStatus.ACTIVE,
        subscription.expires_at,
    )
    assert {p.status for p in billing.purchases.rows.values()} == {PurchaseStatus.COMPLETED}
    assert invoice.paid_at == subscription.starts_at == add_on.starts_at
    assert billing.token_service().get_balance(PAYER).balance == 1050
    assert billing.tokens.ledger_mismatches() == []


def test_capture_credits_each_purchase_once_under_its_reference(
    billing: Billing, invoice: Invoice
) -> None:
    billing.payment_captured_handler().handle(paying(invoice))

    entries = billing.tokens.entries_for(PAYER)
    assert [(e.amount, e.transaction_type, e.reference_type) for e in entries] == [
        (50, TokenTransactionType.PURCHASE, "token_bundle_purchase"),
        (1000, TokenTransactionType.PURCHASE, "token_bundle_purchase"),
    ]
    assert [e.reference_id for e in entries] == list(billing.purchases.rows)


def test_capture_notifies_lines_in_order_then_invoice_paid(
    billing: Billing, invoice: Invoice
) -> None:
    result = billing.payment_captured_handler().handle(paying(invoice))

    sub, small, large, add_on, paid = result.notifications
    [subscription] = billing.subscriptions.rows.values()
    [addon_subscription] = billing.addon_subscriptions.rows.values()
    small_id, large_id = billing.purchases.rows
    assert isinstance(sub, SubscriptionActivatedEvent)
    assert (sub.subscription_id, sub.user_id, sub.expires_at) == (
        subscription.id,
        PAYER,
        subscription.expires_at,
    )
    assert isinstance(small, TokensCreditedEvent) and isinstance(large, TokensCreditedEvent)
    assert (small.purchase_id, small.amount, small.balance_after) == (small_id, 50, 50)
    assert (large.purchase_id, large.amount, large.balance_after) == (large_id, 1000, 1050)
    assert isinstance(add_on, AddOnActivatedEvent)
    assert (add_on.addon_subscription_id, add_on.user_id) == (addon_subscription.id, PAYER)
    assert isinstance(paid, InvoicePaidEvent)
    assert (paid.invoice_id, paid.user_id, paid.amount, paid.currency) == (
        invoice.id,
        PAYER,
        Decimal("228.00"),
        "USD",
    )
    assert (paid.provider, paid.payment_reference) == ("webhook", "pay_1")


def test_capture_records_one_completed_payment(billing: Billing, invoice: Invoice) -> None:
    """Through PaymentService.complete: no payment was started, so one is recorded."""
    billing.payment_captured_handler().handle(paying(invoice, payload_digest="ab" * 32))

    [payment] = billing.payments.list_for_invoice(invoice.id)
    assert (payment.status, payment.user_id, payment.amount, payment.currency) == (
        PaymentStatus.COMPLETED,
        PAYER,
        Decimal("228.00"),
        "USD",
    )
    assert (payment.provider, payment.provider_reference, payment.payload_digest) == (
        "webhook",
        "pay_1",
        "ab" * 32,
    )
    assert payment.completed_at is not None and payment.error_code is None
    history = [(c.from_status, c.to_status, c.reason) for c in billing.payments.history(payment.id)]
    assert history == [(None, "completed", "captured")]


@pytest.mark.parametrize("settled", [InvoiceStatus.PAID, InvoiceStatus.REFUNDED])
def test_same_payment_again_is_already_paid_and_changes_nothing(
    billing: Billing, invoice: Invoice, settled: InvoiceStatus
) -> None:
    billing.payment_captured_handler().handle(paying(invoice))
    invoice.status = settled
    before = state(billing, invoice)

    result = billing.payment_captured_handler().handle(paying(invoice))

    assert result.data == CaptureOutcome("already_paid", invoice.id, 0)
    assert result.notifications == ()
    assert state(billing, invoice) == before


def not_applied(
    billing: Billing, invoice: Invoice, event: PaymentCapturedEvent
) -> tuple[CaptureOutcome, Payment]:
    """Handle a provider's confirmation the invoice cannot take: answered (never raised),
    nothing granted, one ``requires_refund`` payment of the claimed money."""
    before = state(billing, invoice)[:5]
    result = billing.payment_captured_handler().handle(event)
    assert state(billing, invoice)[:5] == before, "money not applied granted something"
    assert result.data.status == "requires_refund"
    [payment] = [p for p in billing.payments.rows.values() if p.provider_reference == "pay_2"]
    assert payment.status is PaymentStatus.REQUIRES_REFUND
    assert (payment.amount, payment.currency) == (event.amount, event.currency)
    [notification] = [n for n in result.notifications if n.name == "payment.requires_refund"]
    assert isinstance(notification, PaymentRequiresRefundEvent)
    assert (notification.payment_id, notification.reason) == (payment.id, result.data.reason)
    return result.data, payment


def test_another_payment_for_a_paid_invoice_requires_a_refund(
    billing: Billing, invoice: Invoice
) -> None:
    billing.payment_captured_handler().handle(paying(invoice))

    outcome, payment = not_applied(billing, invoice, paying(invoice, payment_reference="pay_2"))

    assert (outcome.reason, payment.error_code) == ("invoice_already_paid", "invoice_already_paid")
    assert outcome.message is not None and "Nothing was granted" in outcome.message
    assert invoice.payment_reference == "pay_1"
    assert [c.reason for c in billing.payments.history(payment.id)] == ["invoice_already_paid"]


def test_an_admin_settling_a_paid_invoice_again_is_still_invoice_already_paid(
    billing: Billing, invoice: Invoice
) -> None:
    """No provider moved money: the admin's mark-paid is refused as before."""
    billing.payment_captured_handler().handle(paying(invoice))
    again = paying(invoice, provider="manual", amount=None, currency=None, recorded_by=ADMIN)

    error = refused(billing, invoice, again)

    assert isinstance(error, Conflict)
    assert (error.status_code, error.code) == (409, "invoice_already_paid")


@pytest.mark.parametrize("status", [InvoiceStatus.CANCELLED, InvoiceStatus.EXPIRED])
def test_cancelled_or_expired_invoice_requires_a_refund(
    billing: Billing, invoice: Invoice, status: InvoiceStatus
) -> None:
    invoice.status = status

    outcome, _ = not_applied(billing, invoice, paying(invoice, payment_reference="pay_2"))

    assert outcome.reason == "invoice_not_payable" and invoice.status is status


def test_an_admin_settling_a_cancelled_invoice_is_invoice_not_payable(
    billing: Billing, invoice: Invoice
) -> None:
    invoice.status = InvoiceStatus.CANCELLED
    event = paying(invoice, provider="manual", amount=None, currency=None, recorded_by=ADMIN)

    error = refused(billing, invoice, event)

    assert isinstance(error, InvalidState)
    assert (error.status_code, error.code) == (409, "invoice_not_payable")


@pytest.mark.parametrize(
    ("amount", "currency"), [("227.99", "USD"), ("228.01", "USD"), ("228.00", "EUR")]
)
def test_amount_or_currency_mismatch_requires_a_refund_and_grants_nothing(
    billing: Billing, invoice: Invoice, amount: str, currency: str
) -> None:
    event = paying(invoice, payment_reference="pay_2", amount=Decimal(amount), currency=currency)

    outcome, payment = not_applied(billing, invoice, event)

    assert outcome.reason == "amount_mismatch" and invoice.status is InvoiceStatus.PENDING
    assert payment.invoice_id == invoice.id and payment.user_id == PAYER


def test_a_repeated_refused_confirmation_adds_nothing(billing: Billing, invoice: Invoice) -> None:
    billing.payment_captured_handler().handle(paying(invoice))
    second = paying(invoice, payment_reference="pay_2")
    first = billing.payment_captured_handler().handle(second)

    again = billing.payment_captured_handler().handle(second)

    assert again.data == first.data and again.notifications == ()
    assert len(billing.payments.rows) == 2


def test_admin_path_settles_the_invoice_total(billing: Billing, invoice: Invoice) -> None:
    event = paying(invoice, amount=None, currency=None, provider="manual", recorded_by=ADMIN)

    result = billing.payment_captured_handler().handle(event)

    assert result.data.status == "success" and invoice.status is InvoiceStatus.PAID
    [payment] = billing.payments.rows.values()
    assert (payment.amount, payment.currency, payment.recorded_by) == (
        Decimal("228.00"),
        "USD",
        ADMIN,
    )
