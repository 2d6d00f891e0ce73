"""PaymentService's state machine: move, complete, fail, expire_stale, and stats.

The allowed moves are spelled out here rather than read from ALLOWED_TRANSITIONS, so a change
to the table in src is a change this file has to agree with.
"""

import itertools
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from src.errors import InvalidState
from src.models.invoice import Invoice
from src.models.payment import PaymentStatus
from src.services.payment_service import PaymentClaim, PaymentStats
from tests.unit.builders import PAYER, Billing
from tests.unit.payment_flows import stored_payment

S = PaymentStatus
ALLOWED: dict[PaymentStatus, set[PaymentStatus]] = {
    S.PENDING: {S.PROCESSING, S.COMPLETED, S.FAILED, S.EXPIRED, S.CANCELLED, S.REQUIRES_REFUND},
    S.PROCESSING: {S.COMPLETED, S.FAILED, S.CANCELLED, S.REQUIRES_REFUND},
    S.FAILED: {S.PROCESSING, S.COMPLETED, S.REQUIRES_REFUND},
    S.EXPIRED: {S.COMPLETED, S.FAILED, S.REQUIRES_REFUND},
    S.CANCELLED: {S.COMPLETED, S.REQUIRES_REFUND},
    S.COMPLETED: {S.REFUNDED, S.PARTIALLY_REFUNDED, S.DISPUTED},
    S.PARTIALLY_REFUNDED: {S.PARTIALLY_REFUNDED, S.REFUNDED, S.DISPUTED},
    S.REFUNDED: set(),
    S.REQUIRES_REFUND: {S.REFUNDED},
    S.DISPUTED: {S.COMPLETED, S.REFUNDED},
}
EVERY_MOVE = list(itertools.product(PaymentStatus, PaymentStatus))
T0 = datetime(2030, 1, 1, tzinfo=timezone.utc)


def claim(
    provider: str = "stripe", amount: str = "228.00", reference: str = "pi_9"
) -> PaymentClaim:
    return PaymentClaim(
        provider=provider, reference=reference, amount=Decimal(amount), currency="USD"
    )


@pytest.mark.parametrize(("before", "after"), EVERY_MOVE, ids=[f"{a}->{b}" for a, b in EVERY_MOVE])
def test_move_applies_exactly_the_allowed_transitions_and_refuses_the_rest(
    billing: Billing, before: PaymentStatus, after: PaymentStatus
) -> None:
    service = billing.payment_service()
    payment = stored_payment(billing, before)

    assert service.can_move(payment, after) is (after in ALLOWED[before])
    if after in ALLOWED[before]:
        service.move(payment, after, "why", provider_event_id="evt_1")
        assert payment.status is after
        history = [
            (c.from_status, c.to_status, c.reason, c.provider_event_id)
            for c in billing.payments.history(payment.id)
        ]
        assert history == [(before.value, after.value, "why", "evt_1")]
    else:
        with pytest.raises(InvalidState) as refused:
            service.move(payment, after, "why", provider_event_id="evt_1")
        assert refused.value.code == "payment_transition_not_allowed"
        assert refused.value.status_code == 409
        assert refused.value.details == {"from": before.value, "to": after.value}
        assert payment.status is before and billing.payments.history(payment.id) == []


def test_a_payment_never_goes_backwards(billing: Billing) -> None:
    service = billing.payment_service()
    payment = stored_payment(billing, S.COMPLETED)

    for status in (S.FAILED, S.PENDING, S.EXPIRED):
        assert not service.can_move(payment, status)
        with pytest.raises(InvalidState):
            service.move(payment, status)

    assert payment.status is S.COMPLETED and billing.payments.history(payment.id) == []


def test_complete_uses_the_started_payment_named_by_id(billing: Billing, invoice: Invoice) -> None:
    service = billing.payment_service()
    started = service.open(invoice, "stripe", "payment_intent", expires_at=None)

    done = service.complete(invoice, claim(), payment_id=started.id, charge_id="ch_1")

    assert done is started and list(billing.payments.rows) == [started.id]
    assert (done.status, done.provider_reference, done.provider_charge_id) == (
        S.COMPLETED,
        "pi_9",
        "ch_1",
    )
    assert done.completed_at is not None
    assert [(c.from_status, c.to_status) for c in service.history(done.id)] == [
        (None, "pending"),
        ("pending", "completed"),
    ]


def test_complete_without_an_id_uses_the_open_payment_of_that_provider(
    billing: Billing, invoice: Invoice
) -> None:
    service = billing.payment_service()
    manual = service.open(invoice, "manual", "payment_intent", expires_at=None)
    stripe = service.open(invoice, "stripe", "payment_intent", expires_at=None)

    done = service.complete(invoice, claim("stripe"))

    assert done is stripe and done.status is S.COMPLETED
    assert manual.status is S.PENDING and len(billing.payments.rows) == 2


def test_complete_ignores_an_id_of_another_invoices_payment(
    billing: Billing, invoice: Invoice
) -> None:
    service = billing.payment_service()
    elsewhere = stored_payment(billing, S.PENDING)

    done = service.complete(invoice, claim(), payment_id=elsewhere.id)

    assert done is not elsewhere and elsewhere.status is S.PENDING
    assert (done.invoice_id, done.user_id, done.status) == (invoice.id, PAYER, S.COMPLETED)


def test_a_late_success_on_a_cancelled_payment_completes_that_same_payment(
    billing: Billing, invoice: Invoice
) -> None:
    """The money arrived after we cancelled: the same row is captured, never a second one."""
    service = billing.payment_service()
    started = service.open(invoice, "stripe", "payment_intent", expires_at=None)
    service.move(started, S.CANCELLED)

    done = service.complete(invoice, claim(amount="228.00"), payment_id=started.id)

    assert done is started and list(billing.payments.rows) == [started.id]
    assert (done.status, done.provider_reference, done.amount) == (
        S.COMPLETED,
        "pi_9",
        Decimal("228.00"),
    )
    assert done.completed_at is not None
    history = [(c.from_status, c.to_status) for c in service.history(done.id)]
    assert history == [(None, "pending"), ("pending", "cancelled"), ("cancelled", "completed")]


def test_fail_marks_an_open_payment_failed_with_the_providers_reason(billing: Billing) -> None:
    payment = stored_payment(billing, S.PENDING)

    failed = billing.payment_service().fail(payment, "card_declined", "Declined.", "evt_f")

    assert failed and payment.status is S.FAILED
    assert (payment.error_code, payment.error_message) == ("card_declined", "Declined.")
    [change] = billing.payments.history(payment.id)
    assert (change.to_status, change.reason, change.provider_event_id) == (
        "failed",
        "Declined.",
        "evt_f",
    )


def test_fail_without_a_reason_says_payment_failed(billing: Billing) -> None:
    payment = stored_payment(billing, S.PROCESSING)

    billing.payment_service().fail(payment, None, None, "evt_f")

    assert (payment.error_code, payment.error_message) == ("payment_failed", "The payment failed.")


def test_fail_after_completion_is_ignored(billing: Billing) -> None:
    payment = stored_payment(billing, S.COMPLETED)

    failed = billing.payment_service().fail(payment, "card_declined", "late", "evt_late")

    assert not failed and payment.status is S.COMPLETED
    assert payment.error_code is None and billing.payments.history(payment.id) == []


def test_expire_stale_expires_only_pending_payments_older_than_the_cutoff(
    billing: Billing,
) -> None:
    old = T0 - timedelta(hours=2)
    stale = stored_payment(billing, S.PENDING, created_at=old)
    recent = stored_payment(billing, S.PENDING, created_at=T0)
    others = {
        status: stored_payment(billing, status, created_at=old)
        for status in PaymentStatus
        if status is not S.PENDING
    }

    expired = billing.payment_service().expire_stale(T0 - timedelta(hours=1), limit=10)

    assert expired == [stale] and stale.status is S.EXPIRED
    assert recent.status is S.PENDING
    assert {status: row.status for status, row in others.items()} == {s: s for s in others}
    [change] = billing.payments.history(stale.id)
    assert (change.from_status, change.to_status, change.reason) == (
        "pending",
        "expired",
        "checkout not finished",
    )


def test_expire_stale_takes_the_oldest_first_up_to_the_limit(billing: Billing) -> None:
    newer = stored_payment(billing, S.PENDING, created_at=T0 - timedelta(hours=2))
    oldest = stored_payment(billing, S.PENDING, created_at=T0 - timedelta(hours=3))

    assert billing.payment_service().expire_stale(T0, limit=1) == [oldest]
    assert newer.status is S.PENDING


def test_stats_are_net_of_refunds_in_the_latest_currency(billing: Billing) -> None:
    def settled(
        status: PaymentStatus, amount: str, currency: str, hours: int, refunded: str = "0.00"
    ) -> None:
        at = T0 + timedelta(hours=hours)
        stored_payment(billing, status, amount, currency, completed_at=at, refunded=refunded)

    settled(S.COMPLETED, "20.00", "USD", 1)
    settled(S.PARTIALLY_REFUNDED, "100.00", "USD", 3, refunded="30.00")
    settled(S.REFUNDED, "10.00", "USD", 2, refunded="10.00")
    settled(S.COMPLETED, "50.00", "EUR", 0)
    settled(S.PARTIALLY_REFUNDED, "8.00", "GBP", -1, refunded="3.00")
    for status in (S.FAILED, S.FAILED, S.PENDING, S.EXPIRED, S.CANCELLED):
        stored_payment(billing, status, "999.00", "USD")
    stored_payment(billing, S.COMPLETED, "999.00", "USD", user_id=None, completed_at=T0)

    stats = billing.payment_service().stats(PAYER)

    assert stats == PaymentStats(
        currency="USD",
        total_spent=Decimal("90.00"),
        completed_payments=5,
        failed_payments=2,
        other_currencies=[("EUR", Decimal("50.00")), ("GBP", Decimal("5.00"))],
    )


def test_stats_follow_the_currency_of_the_latest_payment(billing: Billing) -> None:
    stored_payment(billing, S.COMPLETED, "20.00", "USD", completed_at=T0)
    stored_payment(billing, S.COMPLETED, "7.00", "EUR", completed_at=T0 + timedelta(days=1))

    stats = billing.payment_service().stats(PAYER)

    assert (stats.currency, stats.total_spent) == ("EUR", Decimal("7.00"))
    assert stats.other_currencies == [("USD", Decimal("20.00"))]


def test_stats_without_payments_are_empty(billing: Billing) -> None:
    assert billing.payment_service().stats(PAYER) == PaymentStats(None, Decimal("0.00"), 0, 0, [])
