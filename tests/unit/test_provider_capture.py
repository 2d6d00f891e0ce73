"""PaymentCapturedHandler for a payment we started at a provider: the started payment is the one
completed, and a provider event is processed once."""

from decimal import Decimal

from src.events.payment_results import CaptureOutcome
from src.models.invoice import Invoice, InvoiceStatus
from src.models.payment import PaymentStatus
from src.providers.base import PaymentMode
from tests.unit.builders import PAYER, Billing, paying
from tests.unit.payment_flows import started_payment


def test_a_provider_capture_completes_the_payment_we_started(
    billing: Billing, invoice: Invoice
) -> None:
    payment = started_payment(billing, invoice, PaymentMode.CHECKOUT)
    event = paying(
        invoice,
        provider="stripe",
        payment_reference="pi_7",
        payment_id=payment.id,
        payment_intent_id="pi_7",
        charge_id="ch_7",
        customer_id="cus_from_webhook",
        provider_event_id="evt_1",
    )

    result = billing.payment_captured_handler().handle(event)

    assert result.data == CaptureOutcome("success", invoice.id, 4)
    assert list(billing.payments.rows) == [payment.id]
    assert (payment.status, payment.provider_reference, payment.completed_at is not None) == (
        PaymentStatus.COMPLETED,
        "pi_7",
        True,
    )
    assert (payment.provider_session_id, payment.provider_payment_intent_id) == ("cs_1", "pi_7")
    assert payment.provider_charge_id == "ch_7"
    history = [(c.from_status, c.to_status) for c in billing.payments.history(payment.id)]
    assert history == [(None, "pending"), ("pending", "completed")]


def test_a_capture_naming_our_expired_payment_completes_it(
    billing: Billing, invoice: Invoice
) -> None:
    """Expired is no longer open, so only the id from the provider's metadata can find it."""
    payment = started_payment(billing, invoice)
    billing.payment_service().move(payment, PaymentStatus.EXPIRED)

    billing.payment_captured_handler().handle(
        paying(invoice, provider="stripe", payment_id=payment.id)
    )

    assert list(billing.payments.rows) == [payment.id]
    assert payment.status is PaymentStatus.COMPLETED


def test_a_capture_without_our_id_completes_the_open_payment_of_that_provider(
    billing: Billing, invoice: Invoice
) -> None:
    payment = started_payment(billing, invoice)

    billing.payment_captured_handler().handle(paying(invoice, provider="stripe"))

    assert list(billing.payments.rows) == [payment.id]
    assert payment.status is PaymentStatus.COMPLETED


def test_a_capture_remembers_the_provider_customer_only_once(
    billing: Billing, invoice: Invoice
) -> None:
    user = billing.user(PAYER)
    other = billing.pending_invoice(PAYER, token_bundle_ids=(billing.bundle().id,))
    handler = billing.payment_captured_handler()

    handler.handle(paying(invoice, provider="stripe", customer_id="cus_1"))
    handler.handle(paying(other, provider="stripe", payment_reference="pay_2", customer_id="cus_2"))

    assert user.stripe_customer_id == "cus_1"


def test_a_provider_event_delivered_twice_is_processed_once(
    billing: Billing, invoice: Invoice
) -> None:
    event = paying(invoice, provider="stripe", provider_event_id="evt_1")
    billing.payment_captured_handler().handle(event)
    counts, balance = billing.row_counts(), billing.token_service().get_balance(PAYER)

    again = billing.payment_captured_handler().handle(event)

    assert again.data == CaptureOutcome("already_processed", invoice.id, 0)
    assert again.notifications == ()
    assert billing.row_counts() == counts
    assert billing.token_service().get_balance(PAYER) == balance
    assert billing.webhook_events.rows == {("stripe", "evt_1"): "payment.captured"}


def test_another_event_about_the_same_payment_is_already_paid(
    billing: Billing, invoice: Invoice
) -> None:
    handler = billing.payment_captured_handler()
    handler.handle(paying(invoice, provider="stripe", provider_event_id="evt_intent"))

    result = handler.handle(paying(invoice, provider="stripe", provider_event_id="evt_session"))

    assert result.data == CaptureOutcome("already_paid", invoice.id, 0)
    assert invoice.status is InvoiceStatus.PAID and len(billing.payments.rows) == 1
    assert billing.token_service().get_balance(PAYER).balance == 1050
    assert [p.amount for p in billing.payments.rows.values()] == [Decimal("228.00")]
