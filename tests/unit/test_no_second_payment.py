"""Issue 10, "never open a second way to pay an invoice that is being paid", over the fakes:
a payment the provider will not stop (a ``complete`` Checkout Session, a confirmed intent) is
never replaced, in any mode, and never lets its invoice be cancelled or settled by hand; what
the provider took is captured. No provider call happens inside a transaction."""

from decimal import Decimal

import pytest

from src.errors import Conflict, InvalidState
from src.events.payment_events import PaymentCapturedEvent, PaymentStartRequestedEvent
from src.events.payment_results import PaymentStartOutcome
from src.models.invoice import Invoice, InvoiceStatus
from src.models.payment import Payment, PaymentStatus
from src.providers.base import PaymentMode, RemotePayment, RemoteStatus
from tests.unit.builders import PAYER, Billing
from tests.unit.payment_flows import ADMIN, started_payment

PAID = RemotePayment(RemoteStatus.SUCCEEDED, Decimal("228.00"), "USD", payment_intent_id="pi_9")
PROCESSING = RemotePayment(RemoteStatus.PROCESSING, payment_intent_id="pi_9")


def in_progress() -> InvalidState:
    return InvalidState("Stripe moves the money.", code="payment_in_progress")


def completed_session(billing: Billing, invoice: Invoice, remote: RemotePayment) -> Payment:
    """A Checkout Session the customer completed, before its webhook arrived: the provider
    can no longer resume or stop it, and reports ``remote``."""
    payment = started_payment(billing, invoice, PaymentMode.CHECKOUT)
    billing.provider.resumable = False
    billing.provider.failures["cancel_payment"] = in_progress()
    billing.provider.remote = remote
    return payment


def pay(billing: Billing, invoice: Invoice, mode: PaymentMode) -> PaymentStartOutcome:
    event = PaymentStartRequestedEvent(
        user_id=PAYER, invoice_id=invoice.id, provider="stripe", mode=mode
    )
    try:
        return billing.payment_start_process().run(event)
    finally:
        assert billing.provider_calls_in_transaction == []


def mark_paid(billing: Billing, invoice: Invoice, force: bool = False) -> str:
    capture = PaymentCapturedEvent(
        invoice_id=invoice.id,
        payment_reference="wire-1",
        provider="manual",
        amount=None,
        currency=None,
        recorded_by=ADMIN,
    )
    try:
        return billing.mark_paid_process().run(capture, force=force).status
    finally:
        assert billing.provider_calls_in_transaction == []


# -- pay again -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [PaymentMode.CHECKOUT, PaymentMode.PAYMENT_INTENT])
def test_paying_again_after_a_paid_checkout_captures_and_answers_it_in_any_mode(
    billing: Billing, invoice: Invoice, mode: PaymentMode
) -> None:
    payment = completed_session(billing, invoice, PAID)

    answer = pay(billing, invoice, mode)

    assert (answer.payment_id, answer.reused, answer.status) == (
        payment.id,
        True,
        PaymentStatus.COMPLETED,
    )
    assert (payment.status, invoice.status) == (PaymentStatus.COMPLETED, InvoiceStatus.PAID)
    assert len(billing.provider.starts) == 1  # no second session, no PaymentIntent
    assert len(billing.payments.rows) == 1


@pytest.mark.parametrize("mode", [PaymentMode.CHECKOUT, PaymentMode.PAYMENT_INTENT])
def test_paying_again_while_a_completed_checkout_is_processing_is_refused(
    billing: Billing, invoice: Invoice, mode: PaymentMode
) -> None:
    payment = completed_session(billing, invoice, PROCESSING)

    with pytest.raises(InvalidState) as refused:
        pay(billing, invoice, mode)

    assert refused.value.code == "payment_in_progress"
    assert (payment.status, invoice.status) == (PaymentStatus.PROCESSING, InvoiceStatus.PENDING)
    assert len(billing.provider.starts) == 1 and len(billing.payments.rows) == 1
    with pytest.raises(InvalidState) as again:  # the next click needs no provider at all
        pay(billing, invoice, mode)
    assert again.value.code == "payment_in_progress"


def test_a_provider_that_cannot_be_asked_leaves_the_payment_open_and_refuses(
    billing: Billing, invoice: Invoice
) -> None:
    payment = completed_session(billing, invoice, PAID)
    billing.provider.failures["fetch_payment"] = InvalidState("down", code="provider_error")

    with pytest.raises(InvalidState) as refused:
        pay(billing, invoice, PaymentMode.PAYMENT_INTENT)

    assert refused.value.code == "payment_in_progress"
    assert (payment.status, invoice.status) == (PaymentStatus.PENDING, InvoiceStatus.PENDING)
    assert len(billing.provider.starts) == 1


# -- cancel the invoice ----------------------------------------------------------------------


def test_cancelling_an_invoice_whose_checkout_was_paid_captures_it_instead(
    billing: Billing, invoice: Invoice
) -> None:
    payment = completed_session(billing, invoice, PAID)

    with pytest.raises(InvalidState) as refused:
        billing.invoice_cancel_process().run(PAYER, invoice.id)

    assert refused.value.code == "invoice_not_cancellable"
    assert (payment.status, invoice.status) == (PaymentStatus.COMPLETED, InvoiceStatus.PAID)
    assert billing.provider_calls_in_transaction == []


def test_cancelling_an_invoice_whose_checkout_is_processing_is_refused(
    billing: Billing, invoice: Invoice
) -> None:
    payment = completed_session(billing, invoice, PROCESSING)

    with pytest.raises(InvalidState) as refused:
        billing.invoice_cancel_process().run(PAYER, invoice.id)

    assert refused.value.code == "payment_in_progress"
    assert (payment.status, invoice.status) == (PaymentStatus.PROCESSING, InvoiceStatus.PENDING)


def test_the_invoice_is_cancelled_only_after_the_provider_confirms_the_stop(
    billing: Billing, invoice: Invoice
) -> None:
    payment = started_payment(billing, invoice, PaymentMode.CHECKOUT)
    seen: list[InvoiceStatus] = []
    original = billing.provider.cancel_payment

    def cancel(existing: object) -> None:
        seen.append(invoice.status)
        original(existing)  # type: ignore[arg-type]

    billing.provider.cancel_payment = cancel  # type: ignore[method-assign]

    billing.invoice_cancel_process().run(PAYER, invoice.id)

    assert seen == [InvoiceStatus.PENDING]
    assert (payment.status, invoice.status) == (PaymentStatus.CANCELLED, InvoiceStatus.CANCELLED)


# -- admin mark-paid -------------------------------------------------------------------------


def test_mark_paid_with_an_open_provider_payment_is_refused_without_force(
    billing: Billing, invoice: Invoice
) -> None:
    billing.user(ADMIN)
    payment = started_payment(billing, invoice)
    calls = len(billing.provider.calls)

    with pytest.raises(InvalidState) as refused:
        mark_paid(billing, invoice)

    assert refused.value.code == "payment_in_progress"
    assert refused.value.details == {"payment_ids": [str(payment.id)]}
    assert (payment.status, invoice.status) == (PaymentStatus.PENDING, InvoiceStatus.PENDING)
    assert len(billing.provider.calls) == calls  # the provider was not asked


def test_forced_mark_paid_cancels_the_provider_payment_first_then_settles(
    billing: Billing, invoice: Invoice
) -> None:
    billing.user(ADMIN)
    payment = started_payment(billing, invoice)

    assert mark_paid(billing, invoice, force=True) == "success"

    assert [c.payment_id for c in billing.provider.cancelled] == [payment.id]
    assert (payment.status, invoice.status) == (PaymentStatus.CANCELLED, InvoiceStatus.PAID)
    assert (invoice.provider, invoice.payment_reference) == ("manual", "wire-1")


def test_forced_mark_paid_of_a_payment_the_provider_already_took_captures_that_one(
    billing: Billing, invoice: Invoice
) -> None:
    billing.user(ADMIN)
    payment = completed_session(billing, invoice, PAID)

    with pytest.raises(Conflict) as refused:  # the admin moved no money: 409 as before
        mark_paid(billing, invoice, force=True)

    assert refused.value.code == "invoice_already_paid"
    assert (payment.status, invoice.status) == (PaymentStatus.COMPLETED, InvoiceStatus.PAID)
    assert invoice.provider == "stripe"


def test_forced_mark_paid_while_the_provider_moves_the_money_is_refused(
    billing: Billing, invoice: Invoice
) -> None:
    billing.user(ADMIN)
    payment = completed_session(billing, invoice, PROCESSING)

    with pytest.raises(InvalidState) as refused:
        mark_paid(billing, invoice, force=True)

    assert refused.value.code == "payment_in_progress"
    assert (payment.status, invoice.status) == (PaymentStatus.PROCESSING, InvoiceStatus.PENDING)


def test_mark_paid_without_provider_payments_settles_as_before(
    billing: Billing, invoice: Invoice
) -> None:
    billing.user(ADMIN)

    assert mark_paid(billing, invoice) == "success"

    assert invoice.status is InvoiceStatus.PAID and billing.provider.calls == []
