"""Money a provider confirmed that its invoice cannot take: kept once as requires_refund,
refunded by a job (through the provider) unless it cannot be, and its refund takes nothing
back. In-memory fakes (what the savepoint undoes is proven against PostgreSQL)."""

import uuid
from decimal import Decimal

import pytest

from src.errors import Conflict, InvalidState
from src.jobs.names import REFUND_UNAPPLIED_TASK
from src.models.invoice import Invoice, InvoiceStatus
from src.models.payment import Payment, PaymentStatus
from src.services.payment_service import PaymentClaim
from tests.unit.builders import PAYER, Billing, paying
from tests.unit.fakes.jobs import DeferredJob
from tests.unit.refund_builders import RefundDesk

S = PaymentStatus


def paid_by_another(billing: Billing, invoice: Invoice) -> None:
    billing.payment_captured_handler().handle(paying(invoice, payment_reference="pay_first"))
    assert invoice.status is InvoiceStatus.PAID


def second_stripe_payment(billing: Billing, invoice: Invoice) -> Payment:
    """A Stripe payment we started (pi_2) that the provider then confirmed."""
    started = billing.payment_service().open(invoice, "stripe", "card", None)
    started.provider_payment_intent_id = "pi_2"
    result = billing.payment_captured_handler().handle(
        paying(
            invoice,
            provider="stripe",
            payment_reference="pi_2",
            payment_id=started.id,
            charge_id="ch_2",
            provider_event_id="evt_2",
            provider_event_type="payment_intent.succeeded",
        )
    )
    assert (result.data.status, result.data.payment_id) == ("requires_refund", started.id)
    return started


def test_a_started_stripe_payment_requires_a_refund_and_a_job_is_deferred(
    billing: Billing, invoice: Invoice
) -> None:
    paid_by_another(billing, invoice)

    payment = second_stripe_payment(billing, invoice)

    assert (payment.status, payment.error_code, payment.provider_charge_id) == (
        S.REQUIRES_REFUND,
        "invoice_already_paid",
        "ch_2",
    )
    assert [
        (c.from_status, c.to_status, c.reason) for c in billing.payments.history(payment.id)
    ] == [
        (None, "pending", "payment started"),
        ("pending", "requires_refund", "invoice_already_paid"),
    ]
    assert billing.job_queue.jobs == [
        DeferredJob(REFUND_UNAPPLIED_TASK, f"unapplied-{payment.id}", {"payment_id": payment.id})
    ]


def test_with_auto_refund_off_it_waits_for_an_admin(billing: Billing, invoice: Invoice) -> None:
    billing.auto_refund_unapplied = False
    paid_by_another(billing, invoice)

    payment = second_stripe_payment(billing, invoice)

    assert payment.status is S.REQUIRES_REFUND and billing.job_queue.jobs == []
    assert payment.error_message is not None and "waits for an admin" in payment.error_message


@pytest.mark.parametrize("provider", ["webhook", "manual"])
def test_a_provider_we_cannot_refund_through_waits_for_an_admin(
    billing: Billing, invoice: Invoice, provider: str
) -> None:
    paid_by_another(billing, invoice)

    result = billing.payment_captured_handler().handle(
        paying(invoice, provider=provider, payment_reference="pay_2")
    )

    assert result.data.status == "requires_refund" and billing.job_queue.jobs == []
    [notification] = [n for n in result.notifications if n.name == "payment.requires_refund"]
    assert getattr(notification, "auto_refund") is False


def test_a_repeated_confirmation_adds_no_row_no_job_and_no_notification(
    billing: Billing, invoice: Invoice
) -> None:
    paid_by_another(billing, invoice)
    payment = second_stripe_payment(billing, invoice)
    rows = len(billing.payments.rows)

    again = billing.payment_captured_handler().handle(
        paying(invoice, provider="stripe", payment_reference="pi_2", payment_intent_id="pi_2")
    )

    assert (again.data.status, again.data.payment_id, again.notifications) == (
        "requires_refund",
        payment.id,
        (),
    )
    assert len(billing.payments.rows) == rows and len(billing.job_queue.jobs) == 1


def test_the_job_refunds_it_in_full_and_takes_nothing_back(
    billing: Billing, invoice: Invoice
) -> None:
    paid_by_another(billing, invoice)
    payment = second_stripe_payment(billing, invoice)
    balance = billing.tokens.balances[PAYER].balance
    desk = RefundDesk(billing)

    outcome = desk.process.refund_unapplied(payment.id)
    replay = desk.process.refund_unapplied(payment.id)

    assert outcome is not None and outcome.amount == payment.amount
    assert replay is not None and replay.refund_id == outcome.refund_id
    assert [amount for _, amount, _ in billing.provider.refunds] == [payment.amount]
    assert (payment.status, payment.refunded_amount) == (S.REFUNDED, payment.amount)
    assert (outcome.tokens_reversed, outcome.tokens_shortfall) == (0, 0)
    assert invoice.status is InvoiceStatus.PAID
    assert billing.tokens.balances[PAYER].balance == balance


def test_the_job_does_nothing_for_a_payment_no_longer_refundable(
    billing: Billing, invoice: Invoice
) -> None:
    paid_by_another(billing, invoice)
    payment = second_stripe_payment(billing, invoice)
    desk = RefundDesk(billing)
    desk.refund(payment.id)  # an admin was first

    assert desk.process.refund_unapplied(payment.id) is None
    assert len(billing.provider.refunds) == 1


def test_an_unapplied_payment_is_refunded_in_full_only(billing: Billing, invoice: Invoice) -> None:
    paid_by_another(billing, invoice)
    payment = second_stripe_payment(billing, invoice)

    with pytest.raises(InvalidState) as refused:
        billing.payment_service().refundable(payment, Decimal("1.00"))

    assert refused.value.code == "refund_must_be_full"
    assert billing.payment_service().refundable(payment, None) == payment.amount


def test_require_refund_without_a_started_payment_adds_one_row(
    billing: Billing, invoice: Invoice
) -> None:
    service = billing.payment_service()
    claim = PaymentClaim("webhook", "pay_9", Decimal("5.00"), "EUR")

    payment, recorded = service.require_refund(invoice, claim, "amount_mismatch", "why")
    again, recorded_again = service.require_refund(invoice, claim, "amount_mismatch", "why")

    assert (recorded, recorded_again, again) == (True, False, payment)
    assert (payment.invoice_id, payment.user_id, payment.amount, payment.currency) == (
        invoice.id,
        PAYER,
        Decimal("5.00"),
        "EUR",
    )
    assert list(billing.payments.rows) == [payment.id]


def test_an_admins_settlement_is_never_turned_into_requires_refund(
    billing: Billing, invoice: Invoice
) -> None:
    paid_by_another(billing, invoice)
    admin = uuid.UUID("00000000-0000-4000-8000-0000000000c2")
    event = paying(invoice, provider="manual", amount=None, currency=None, recorded_by=admin)

    with pytest.raises(Conflict) as refused:
        billing.payment_captured_handler().handle(event)

    assert refused.value.code == "invoice_already_paid"
    assert billing.job_queue.jobs == []
