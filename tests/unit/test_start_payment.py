"""Starting a payment (PaymentStartProcess) over the fake provider: a pending payment, or the
open one again."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from src.clock import utc_now
from src.errors import InvalidState, NotFound
from src.events.payment_results import PaymentStartOutcome
from src.models.invoice import Invoice, InvoiceStatus
from src.models.payment import PaymentStatus
from src.providers.base import LineForProvider, PaymentMode
from src.services.payment_service import existing
from tests.unit.builders import EXPIRY_MINUTES, PAYER, Billing
from tests.unit.payment_flows import start, started_payment

OTHER = uuid.UUID("00000000-0000-4000-8000-0000000000f1")


def test_start_creates_a_pending_payment_with_history_and_provider_ids(
    billing: Billing, invoice: Invoice
) -> None:
    before = utc_now()

    started = start(billing, invoice)

    [payment] = billing.payments.rows.values()
    assert started == PaymentStartOutcome(
        payment_id=payment.id,
        provider="stripe",
        provider_payment_id="pi_1",
        client_secret="pi_1_secret",
        checkout_url=None,
        status=PaymentStatus.PENDING,
        reused=False,
    )
    assert (payment.status, payment.method, payment.invoice_id, payment.user_id) == (
        PaymentStatus.PENDING,
        "payment_intent",
        invoice.id,
        PAYER,
    )
    assert (payment.amount, payment.currency) == (Decimal("228.00"), "USD")
    assert (payment.provider_payment_intent_id, payment.provider_reference) == ("pi_1", "pi_1")
    assert payment.expires_at is not None
    assert before + timedelta(minutes=EXPIRY_MINUTES) <= payment.expires_at
    assert payment.expires_at <= utc_now() + timedelta(minutes=EXPIRY_MINUTES)
    history = [(c.from_status, c.to_status, c.reason) for c in billing.payments.history(payment.id)]
    assert history == [(None, "pending", "payment started")]
    assert invoice.status is InvoiceStatus.PENDING


def test_checkout_mode_keeps_the_session(billing: Billing, invoice: Invoice) -> None:
    started = start(billing, invoice, PaymentMode.CHECKOUT)

    payment = billing.payments.rows[started.payment_id]
    assert (started.provider_payment_id, started.checkout_url) == (
        "cs_1",
        "https://pay.example/cs_1",
    )
    assert (payment.method, payment.provider_session_id, payment.provider_reference) == (
        "checkout",
        "cs_1",
        "cs_1",
    )


def test_start_passes_amount_currency_lines_and_our_ids_to_the_provider(
    billing: Billing, invoice: Invoice
) -> None:
    started = start(billing, invoice, PaymentMode.CHECKOUT)

    [asked] = billing.provider.starts
    assert (asked.payment_id, asked.invoice_id, asked.invoice_number, asked.user_id) == (
        started.payment_id,
        invoice.id,
        invoice.number,
        PAYER,
    )
    assert (asked.amount, asked.currency, asked.mode) == (
        Decimal("228.00"),
        "USD",
        PaymentMode.CHECKOUT,
    )
    assert asked.lines == tuple(
        LineForProvider(line.description, line.quantity, line.unit_price)
        for line in invoice.line_items
    )
    assert [line.unit_price for line in asked.lines] == [
        Decimal("49.00"),
        Decimal("10.00"),
        Decimal("80.00"),
        Decimal("9.00"),
    ]


def test_the_provider_customer_is_created_once_and_saved_on_the_user(
    billing: Billing, invoice: Invoice
) -> None:
    second = billing.pending_invoice(PAYER, token_bundle_ids=(billing.bundle().id,))
    start(billing, invoice)
    billing.provider.customer = "cus_other"  # what a second creation would return

    start(billing, second)

    user = billing.users.rows[PAYER]
    assert user.stripe_customer_id == "cus_new"
    # Asked once, before the first payment was committed; recorded under the user's lock.
    assert [known for _, _, known in billing.provider.customer_requests] == [None]
    assert [asked.customer_id for asked in billing.provider.starts] == ["cus_new", "cus_new"]
    assert billing.users.locked == [PAYER]


def test_a_second_start_in_the_same_mode_resumes_the_open_payment(
    billing: Billing, invoice: Invoice
) -> None:
    first = start(billing, invoice)
    payment = billing.payments.rows[first.payment_id]

    again = start(billing, invoice)

    assert (again.payment_id, again.provider_payment_id, again.reused) == (
        first.payment_id,
        "pi_1",
        True,
    )
    assert len(billing.provider.starts) == 1 and len(billing.payments.rows) == 1
    assert billing.provider.resumed == [existing(payment)]
    assert payment.status is PaymentStatus.PENDING


def test_an_open_payment_the_provider_cannot_resume_is_cancelled_and_replaced(
    billing: Billing, invoice: Invoice
) -> None:
    old = started_payment(billing, invoice)
    billing.provider.resumable = False

    again = start(billing, invoice)

    assert (again.reused, again.provider_payment_id) == (False, "pi_2")
    assert billing.provider.cancelled == [existing(old)]
    assert old.status is PaymentStatus.CANCELLED


def test_another_mode_cancels_the_open_payment_at_the_provider_first(
    billing: Billing, invoice: Invoice
) -> None:
    old = started_payment(billing, invoice)

    again = start(billing, invoice, PaymentMode.CHECKOUT)

    assert billing.provider.calls == [
        "ensure_customer",
        "start_payment",
        "cancel_payment",
        "start_payment",
    ]
    assert billing.provider.cancelled == [existing(old)]
    new = billing.payments.rows[again.payment_id]
    assert (old.status, new.status, new.method) == (
        PaymentStatus.CANCELLED,
        PaymentStatus.PENDING,
        "checkout",
    )
    [_, cancelled] = billing.payments.history(old.id)
    assert (cancelled.from_status, cancelled.to_status, cancelled.reason) == (
        "pending",
        "cancelled",
        "replaced by a new payment",
    )


def test_an_invoice_of_another_user_is_invoice_not_found(
    billing: Billing, invoice: Invoice
) -> None:
    with pytest.raises(NotFound) as caught:
        start(billing, invoice, user_id=OTHER)

    assert (caught.value.status_code, caught.value.code) == (404, "invoice_not_found")
    assert billing.provider.calls == [] and billing.payments.rows == {}


def test_a_paid_invoice_is_invoice_not_payable(billing: Billing, invoice: Invoice) -> None:
    invoice.status = InvoiceStatus.PAID

    with pytest.raises(InvalidState) as caught:
        start(billing, invoice)

    assert (caught.value.status_code, caught.value.code) == (409, "invoice_not_payable")
    assert billing.provider.calls == [] and billing.payments.rows == {}


def test_an_unknown_provider_is_provider_not_found(billing: Billing, invoice: Invoice) -> None:
    with pytest.raises(NotFound) as caught:
        start(billing, invoice, provider="paypal")

    assert (caught.value.status_code, caught.value.code) == (404, "provider_not_found")
    assert billing.payments.rows == {}


def test_a_payment_the_provider_is_processing_is_not_charged_a_second_time(
    billing: Billing, invoice: Invoice
) -> None:
    processing = started_payment(billing, invoice)
    billing.payment_service().move(processing, PaymentStatus.PROCESSING)
    billing.provider.resumable = False  # Stripe's answer for a "processing" intent

    try:
        start(billing, invoice)
    except InvalidState:
        pass  # refusing is one right answer; starting a second charge is not

    assert len(billing.provider.starts) == 1
    assert processing.status is PaymentStatus.PROCESSING
