"""The recovery check (VerifyPaymentHandler), the provider's failure and refund events, and
command_for, which turns a verified provider event into a command."""

import uuid
from decimal import Decimal

import pytest

from src.errors import NotFound
from src.events.payment_events import (
    PaymentCapturedEvent,
    PaymentFailedEvent,
    PaymentFailureReportedEvent,
    PaymentRefundedEvent,
    RefundReportedEvent,
)
from src.events.payment_results import VerifyOutcome
from src.handlers.provider_webhooks import command_for
from src.models.invoice import Invoice, InvoiceStatus
from src.models.payment import Payment, PaymentStatus
from src.providers.base import (
    ObservedRefund,
    PaymentMode,
    ProviderEvent,
    ProviderEventKind,
    RemotePayment,
    RemoteStatus,
)
from tests.unit.builders import PAYER, Billing
from tests.unit.payment_flows import captured_payment, started_payment

SUCCEEDED = RemotePayment(
    RemoteStatus.SUCCEEDED, Decimal("228.00"), "USD", payment_intent_id="pi_1", charge_id="ch_1"
)


def verify(billing: Billing, payment: Payment, user_id: uuid.UUID = PAYER) -> VerifyOutcome:
    """Through PaymentVerifyProcess: the provider is asked with no transaction open."""
    outcome = billing.payment_verify_process().run(user_id, payment.id)
    assert billing.provider_calls_in_transaction == []
    return outcome


def failure(payment: Payment | None, event_id: str = "evt_f") -> PaymentFailureReportedEvent:
    return PaymentFailureReportedEvent(
        provider="stripe",
        provider_event_id=event_id,
        provider_event_type="payment_intent.payment_failed",
        payment_id=payment.id if payment else uuid.uuid4(),
        payment_intent_id=payment.provider_payment_intent_id if payment else "pi_unknown",
        failure_code="card_declined",
        failure_message="Your card was declined.",
    )


def refund_seen(intent: str = "pi_1", event_id: str = "evt_r") -> RefundReportedEvent:
    return RefundReportedEvent(
        provider="stripe",
        provider_event_id=event_id,
        provider_event_type="charge.refunded",
        payment_intent_id=intent,
        charge_id="ch_unknown",
        refunded_total=Decimal("28.00"),
        refunds=(ObservedRefund("re_dash", Decimal("28.00")),),
    )


def test_verify_captures_a_payment_the_provider_says_succeeded(
    billing: Billing, invoice: Invoice
) -> None:
    payment = started_payment(billing, invoice)
    billing.provider.remote = SUCCEEDED

    outcome = verify(billing, payment)

    assert outcome == VerifyOutcome(payment.id, PaymentStatus.COMPLETED, "paid", captured=True)
    assert (invoice.provider, invoice.payment_reference) == ("stripe", "pi_1")
    assert (payment.provider_charge_id, len(billing.payments.rows)) == ("ch_1", 1)
    assert billing.token_service().get_balance(PAYER).balance == 1050


@pytest.mark.parametrize("first", ["verify", "webhook"])
def test_a_second_capture_by_verify_credits_nothing(
    billing: Billing, invoice: Invoice, first: str
) -> None:
    billing.provider.remote = SUCCEEDED
    if first == "webhook":
        payment = captured_payment(billing, invoice)
    else:
        payment = started_payment(billing, invoice)
        assert verify(billing, payment).captured
    counts = billing.row_counts()

    outcome = verify(billing, payment)

    assert (outcome.captured, outcome.payment_status, outcome.invoice_status) == (
        False,
        PaymentStatus.COMPLETED,
        "paid",
    )
    assert billing.row_counts() == counts
    assert billing.token_service().get_balance(PAYER).balance == 1050


def test_verify_of_a_failed_payment_marks_it_failed(billing: Billing, invoice: Invoice) -> None:
    payment = started_payment(billing, invoice)
    billing.provider.remote = RemotePayment(RemoteStatus.FAILED, failure_message="No funds.")

    outcome = verify(billing, payment)

    assert (outcome.payment_status, outcome.invoice_status, outcome.captured) == (
        PaymentStatus.FAILED,
        "pending",
        False,
    )
    assert (payment.error_code, payment.error_message) == ("payment_failed", "No funds.")
    assert billing.tokens.transactions == []


def test_verify_of_a_processing_payment_marks_it_processing(
    billing: Billing, invoice: Invoice
) -> None:
    payment = started_payment(billing, invoice)
    billing.provider.remote = RemotePayment(RemoteStatus.PROCESSING, payment_intent_id="pi_1")

    outcome = verify(billing, payment)

    assert (outcome.payment_status, payment.status) == (PaymentStatus.PROCESSING,) * 2
    assert invoice.status is InvoiceStatus.PENDING


def test_verify_of_another_users_payment_is_payment_not_found(
    billing: Billing, invoice: Invoice
) -> None:
    payment = started_payment(billing, invoice)
    billing.provider.remote = SUCCEEDED

    with pytest.raises(NotFound) as caught:
        verify(billing, payment, user_id=uuid.uuid4())

    assert caught.value.code == "payment_not_found"
    assert billing.provider.fetched == [] and invoice.status is InvoiceStatus.PENDING


def test_a_reported_failure_fails_the_payment_once(billing: Billing, invoice: Invoice) -> None:
    payment = started_payment(billing, invoice)
    handler = billing.payment_failure_handler()

    first = handler.handle(failure(payment))
    history = len(billing.payments.history(payment.id))
    again = handler.handle(failure(payment))

    assert (first.data.status, again.data.status) == ("recorded", "already_processed")
    assert (payment.status, payment.error_code) == (PaymentStatus.FAILED, "card_declined")
    [notice] = first.notifications
    assert isinstance(notice, PaymentFailedEvent) and notice.payment_id == payment.id
    assert again.notifications == () and len(billing.payments.history(payment.id)) == history


def test_a_failure_of_an_unknown_or_completed_payment_is_ignored(
    billing: Billing, invoice: Invoice
) -> None:
    payment = captured_payment(billing, invoice)
    handler = billing.payment_failure_handler()

    unknown = handler.handle(failure(None, "evt_1"))
    late = handler.handle(failure(payment, "evt_2"))

    assert (unknown.data.status, late.data.status) == ("ignored", "ignored")
    assert payment.status is PaymentStatus.COMPLETED and payment.error_code is None


def test_a_reported_refund_is_recorded_once(billing: Billing, invoice: Invoice) -> None:
    payment = captured_payment(billing, invoice)
    handler = billing.refund_reported_handler()

    first = handler.handle(refund_seen())
    again = handler.handle(refund_seen())

    assert (first.data.status, again.data.status) == ("recorded", "already_processed")
    assert (payment.status, payment.refunded_amount) == (
        PaymentStatus.PARTIALLY_REFUNDED,
        Decimal("28.00"),
    )
    assert [r.provider_refund_id for r in billing.payments.refunds] == ["re_dash"]
    [notice] = first.notifications
    assert isinstance(notice, PaymentRefundedEvent) and not notice.full
    assert billing.token_service().get_balance(PAYER).balance == 1050  # grants stay


def test_a_refund_of_an_unknown_payment_is_ignored(billing: Billing, invoice: Invoice) -> None:
    captured_payment(billing, invoice)

    result = billing.refund_reported_handler().handle(refund_seen(intent="pi_other"))

    assert result.data.status == "ignored" and billing.payments.refunds == []


def test_a_checkout_payment_learns_its_intent_so_its_refunds_are_found(
    billing: Billing, invoice: Invoice
) -> None:
    payment = started_payment(billing, invoice, PaymentMode.CHECKOUT)
    paid = command_for(session_paid(invoice, payment), payload_digest="00" * 32)
    assert isinstance(paid, PaymentCapturedEvent)
    billing.payment_captured_handler().handle(paid)

    result = billing.refund_reported_handler().handle(refund_seen(intent="pi_1"))

    assert (payment.provider_session_id, payment.provider_payment_intent_id) == ("cs_1", "pi_1")
    assert result.data.status == "recorded" and payment.refunded_amount == Decimal("28.00")


def session_paid(invoice: Invoice, payment: Payment) -> ProviderEvent:
    """checkout.session.completed, translated: the session and the intent it created."""
    return ProviderEvent(
        provider="stripe",
        event_id="evt_cs",
        event_type="checkout.session.completed",
        kind=ProviderEventKind.PAYMENT_SUCCEEDED,
        invoice_id=invoice.id,
        payment_id=payment.id,
        payment_intent_id="pi_1",
        session_id=payment.provider_session_id,
        customer_id="cus_1",
        amount=Decimal("228.00"),
        currency="USD",
    )
