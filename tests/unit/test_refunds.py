"""Refunds: PaymentService's rules, GrantReversalService, and the refund process over the
fake provider (the intent, its idempotency and faults: test_refund_process.py)."""

from decimal import Decimal

import pytest

from src.clock import utc_now
from src.errors import Conflict, InvalidState
from src.events.payment_events import PaymentRefundedEvent
from src.models.invoice import Invoice, InvoiceStatus
from src.models.payment import PaymentStatus
from src.models.subscription import SubscriptionStatus
from src.models.token_bundle import PurchaseStatus
from src.models.token_ledger import TokenTransactionType
from src.models.payment import RefundStatus
from src.providers.base import ObservedRefund
from src.services.payment_service import existing
from tests.unit.builders import PAYER, Billing
from tests.unit.payment_flows import ADMIN, captured_payment, spend, stored_payment
from tests.unit.refund_builders import RefundDesk, refund

S = PaymentStatus


@pytest.mark.parametrize(
    "status", [S.PENDING, S.PROCESSING, S.FAILED, S.EXPIRED, S.CANCELLED, S.REFUNDED]
)
def test_only_a_completed_or_partially_refunded_payment_is_refundable(
    billing: Billing, status: PaymentStatus
) -> None:
    payment = stored_payment(billing, status)

    with pytest.raises(InvalidState) as caught:
        billing.payment_service().refundable(payment, None)

    assert (caught.value.status_code, caught.value.code) == (409, "payment_not_refundable")


@pytest.mark.parametrize("asked", ["60.01", "0.00", "-1.00"])
def test_refunding_more_than_what_is_left_is_refund_exceeds_payment(
    billing: Billing, asked: str
) -> None:
    payment = stored_payment(billing, S.PARTIALLY_REFUNDED, "100.00", refunded="40.00")

    with pytest.raises(InvalidState) as caught:
        billing.payment_service().refundable(payment, Decimal(asked))

    assert caught.value.code == "refund_exceeds_payment"
    assert caught.value.details == {"refundable": "60.00", "currency": "USD"}


def test_refundable_defaults_to_all_that_is_left(billing: Billing) -> None:
    service = billing.payment_service()
    payment = stored_payment(billing, S.PARTIALLY_REFUNDED, "100.00", refunded="40.00")

    assert service.refundable(payment, None) == Decimal("60.00")
    assert service.refundable(payment, Decimal("60.00")) == Decimal("60.00")


def test_a_partial_then_the_rest_refunds_the_payment(billing: Billing) -> None:
    service = billing.payment_service()
    payment = stored_payment(billing, S.COMPLETED, "100.00")

    service.record_refund(payment, Decimal("30.00"), "re_1", "part", ADMIN)
    partly = (payment.status, payment.refunded_amount)
    service.record_refund(payment, Decimal("70.00"), "re_2", "rest", ADMIN)

    assert partly == (S.PARTIALLY_REFUNDED, Decimal("30.00"))
    assert (payment.status, payment.refunded_amount) == (S.REFUNDED, Decimal("100.00"))
    assert [(r.provider_refund_id, r.amount, r.created_by) for r in billing.payments.refunds] == [
        ("re_1", Decimal("30.00"), ADMIN),
        ("re_2", Decimal("70.00"), ADMIN),
    ]
    assert [(c.from_status, c.to_status) for c in service.history(payment.id)] == [
        ("completed", "partially_refunded"),
        ("partially_refunded", "refunded"),
    ]


def test_observed_refunds_are_recorded_once_per_provider_refund_id(billing: Billing) -> None:
    service = billing.payment_service()
    payment = stored_payment(billing, S.COMPLETED, "100.00")
    service.record_refund(payment, Decimal("10.00"), "re_ours", None, ADMIN)
    first = ObservedRefund("re_1", Decimal("30.00"))
    ours = ObservedRefund("re_ours", Decimal("10.00"))

    counts = [
        service.observe_refunds(payment, [ours, first], Decimal("40.00"), "evt_1"),
        service.observe_refunds(
            payment,
            [ours, first, ObservedRefund("re_2", Decimal("5.00"))],
            Decimal("45.00"),
            "evt_2",
        ),
    ]

    assert counts == [1, 1]
    ids = [refund.provider_refund_id for refund in billing.payments.list_refunds(payment.id)]
    assert ids == ["re_ours", "re_1", "re_2"]
    assert (payment.status, payment.refunded_amount) == (S.PARTIALLY_REFUNDED, Decimal("45.00"))


def test_observed_refunds_never_lower_the_refunded_amount(billing: Billing) -> None:
    service = billing.payment_service()
    payment = stored_payment(billing, S.PARTIALLY_REFUNDED, "100.00", refunded="50.00")

    service.observe_refunds(payment, [], Decimal("20.00"), "evt_old")

    assert (payment.status, payment.refunded_amount) == (S.PARTIALLY_REFUNDED, Decimal("50.00"))
    assert billing.payments.history(payment.id) == []


def test_observing_the_whole_amount_refunds_the_payment(billing: Billing) -> None:
    payment = stored_payment(billing, S.COMPLETED, "100.00")

    billing.payment_service().observe_refunds(payment, [], Decimal("100.00"), "evt_all")

    assert (payment.status, payment.refunded_amount) == (S.REFUNDED, Decimal("100.00"))


def test_plan_refuses_tokens_already_spent_unless_forced(
    billing: Billing, invoice: Invoice
) -> None:
    captured_payment(billing, invoice)
    spend(billing, 100)
    reversal = billing.grant_reversal_service()

    with pytest.raises(Conflict) as caught:
        reversal.plan(invoice, force=False)
    forced = reversal.plan(invoice, force=True)

    assert (caught.value.status_code, caught.value.code) == (409, "tokens_already_spent")
    assert caught.value.details == {"balance": 950, "required": 1050}
    assert (forced.available, forced.needed) == (950, 1050)
    assert billing.tokens.locked == [PAYER, PAYER]


def test_apply_takes_back_what_is_left_per_purchase_and_ends_the_grants(
    billing: Billing, invoice: Invoice
) -> None:
    captured_payment(billing, invoice)
    spend(billing, 100)
    reversal = billing.grant_reversal_service()
    now = utc_now()

    result = reversal.apply(invoice, reversal.plan(invoice, force=True), now)

    assert (result.tokens_reversed, result.tokens_shortfall) == (950, 100)
    small, large = billing.purchases.rows
    refunds = [e for e in billing.tokens.entries_for(PAYER) if e.amount < 0][1:]
    assert [(e.amount, e.transaction_type, e.reference_id) for e in refunds] == [
        (-50, TokenTransactionType.REFUND, small),
        (-900, TokenTransactionType.REFUND, large),
    ]
    assert billing.token_service().get_balance(PAYER).balance == 0
    assert {p.status for p in billing.purchases.rows.values()} == {PurchaseStatus.REFUNDED}
    [subscription] = billing.subscriptions.rows.values()
    [add_on] = billing.addon_subscriptions.rows.values()
    assert (subscription.status, subscription.canceled_at) == (SubscriptionStatus.CANCELED, now)
    assert (add_on.status, add_on.canceled_at) == (SubscriptionStatus.CANCELED, now)


def test_refund_is_not_sent_to_the_provider_when_tokens_are_already_spent(
    billing: Billing, invoice: Invoice
) -> None:
    payment = captured_payment(billing, invoice)
    spend(billing, 1)

    with pytest.raises(Conflict) as caught:
        refund(billing, payment.id, None)

    assert caught.value.code == "tokens_already_spent"
    assert "refund" not in billing.provider.calls and billing.payments.refunds == []
    assert (payment.status, invoice.status) == (S.COMPLETED, InvoiceStatus.PAID)


def test_full_refund_reverses_the_grants_and_marks_the_invoice_refunded(
    billing: Billing, invoice: Invoice
) -> None:
    payment = captured_payment(billing, invoice)
    desk = RefundDesk(billing)

    outcome = desk.refund(payment.id)

    assert billing.provider.refunds == [(existing(payment), Decimal("228.00"), outcome.refund_id)]
    assert outcome.status is RefundStatus.SUCCEEDED
    assert (outcome.amount, outcome.payment_status, outcome.invoice_status) == (
        Decimal("228.00"),
        S.REFUNDED,
        "refunded",
    )
    assert (outcome.tokens_reversed, outcome.tokens_shortfall) == (1050, 0)
    assert invoice.status is InvoiceStatus.REFUNDED
    assert billing.token_service().get_balance(PAYER).balance == 0
    [row] = billing.payments.refunds
    assert (row.id, row.provider_refund_id, row.tokens_reversed, row.created_by) == (
        outcome.refund_id,
        "re_1",
        1050,
        ADMIN,
    )
    assert row.status is RefundStatus.SUCCEEDED
    [notice] = desk.published
    assert isinstance(notice, PaymentRefundedEvent) and notice.full


def test_forced_refund_records_the_shortfall(billing: Billing, invoice: Invoice) -> None:
    payment = captured_payment(billing, invoice)
    spend(billing, 1000)

    outcome = refund(billing, payment.id, None, force=True)

    assert (outcome.tokens_reversed, outcome.tokens_shortfall) == (50, 1000)
    assert billing.payments.refunds[0].tokens_shortfall == 1000


def test_partial_refund_leaves_the_grants_and_the_invoice_paid(
    billing: Billing, invoice: Invoice
) -> None:
    payment = captured_payment(billing, invoice)
    entries = len(billing.tokens.transactions)
    desk = RefundDesk(billing)

    result = desk.refund(payment.id, "28.00")

    assert (result.payment_status, result.refunded_amount) == (
        S.PARTIALLY_REFUNDED,
        Decimal("28.00"),
    )
    assert (invoice.status, result.invoice_status) == (InvoiceStatus.PAID, "paid")
    assert billing.token_service().get_balance(PAYER).balance == 1050
    assert len(billing.tokens.transactions) == entries and billing.tokens.locked == []
    [subscription] = billing.subscriptions.rows.values()
    assert subscription.status is SubscriptionStatus.ACTIVE
    assert {p.status for p in billing.purchases.rows.values()} == {PurchaseStatus.COMPLETED}
    [notice] = desk.published
    assert isinstance(notice, PaymentRefundedEvent) and not notice.full
