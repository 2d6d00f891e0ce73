"""PaymentStartProcess over the fakes: the intent is committed before the provider is called,
its ids after; a request that dies at any fault point leaves a payment that a retry or the
janitor completes, never a second provider payment; cancelling at the provider happens with
no transaction open."""

import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest

from src.clock import utc_now
from src.errors import InvalidState, NotFound, ProviderError
from src.events.payment_events import PaymentStartRequestedEvent
from src.events.payment_results import PaymentStartOutcome
from src.events.payment_start_events import PaymentCustomerRecordedEvent
from src.faults import InjectedFault
from src.handlers.payment_start_handlers import RecordCustomerHandler
from src.models.invoice import Invoice, InvoiceStatus
from src.models.payment import Payment, PaymentStatus
from src.providers.base import (
    PaymentMode,
    PaymentStart,
    RemotePayment,
    RemoteStatus,
    StartedPayment,
)
from tests.support.faults import ArmedFaults
from tests.unit.builders import PAYER, Billing
from tests.unit.fakes import FakePaymentProvider
from tests.unit.payment_flows import start, started_payment

NOT_FOUND = RemotePayment(RemoteStatus.NOT_FOUND)


class ObservingProvider(FakePaymentProvider):
    """The fake provider, with a hook run inside ``start_payment`` (what the world does while
    the provider is being called)."""

    def __init__(self) -> None:
        super().__init__()
        self.while_starting: Callable[[PaymentStart], None] | None = None

    def start_payment(self, start: PaymentStart) -> StartedPayment:
        if self.while_starting is not None:
            self.while_starting(start)
        return super().start_payment(start)


@pytest.fixture
def provider(billing: Billing) -> ObservingProvider:
    billing.provider = ObservingProvider()
    return billing.provider


def pay(
    billing: Billing,
    invoice: Invoice,
    faults: ArmedFaults | None = None,
    mode: PaymentMode = PaymentMode.PAYMENT_INTENT,
    sleeps: list[float] | None = None,
) -> PaymentStartOutcome:
    if PAYER not in billing.users.rows:
        billing.user(PAYER)
    event = PaymentStartRequestedEvent(
        user_id=PAYER, invoice_id=invoice.id, provider="stripe", mode=mode
    )
    try:
        return billing.payment_start_process(faults, sleeps).run(event)
    finally:
        assert billing.provider_calls_in_transaction == []


def only_payment(billing: Billing) -> Payment:
    [payment] = billing.payments.rows.values()
    return payment


def lease_ran_out(payment: Payment) -> None:
    """The request holding the payment's start lease is gone for longer than any request lives."""
    payment.start_lease_until = utc_now() - timedelta(seconds=1)


def test_the_intent_is_committed_before_the_provider_is_called_and_its_ids_after(
    billing: Billing, invoice: Invoice, provider: ObservingProvider
) -> None:
    seen: list[tuple[PaymentStatus, str | None, bool]] = []

    def committed(start: PaymentStart) -> None:
        payment = billing.payments.rows[start.payment_id]
        seen.append((payment.status, payment.provider_reference, billing.transactions.open))

    provider.while_starting = committed

    started = pay(billing, invoice)

    payment = only_payment(billing)
    assert seen == [(PaymentStatus.PENDING, None, False)]
    assert (started.payment_id, started.reused, started.provider_payment_id) == (
        payment.id,
        False,
        "pi_1",
    )
    assert provider.starts[0].payment_id == payment.id  # the idempotency key
    assert (payment.provider_payment_intent_id, payment.start_lease_until) == ("pi_1", None)
    # customer asked → recorded → intent committed → ids recorded: four commands
    assert billing.transactions.commits == 4


@pytest.mark.parametrize(
    "point",
    [
        "payment_start.before_provider_call",
        "payment_start.after_provider_call",
        "payment_start.after_outcome_commit",
    ],
)
def test_a_request_that_dies_at_a_fault_point_is_completed_by_a_retry_with_one_start(
    billing: Billing, invoice: Invoice, point: str
) -> None:
    with pytest.raises(InjectedFault):
        pay(billing, invoice, ArmedFaults(point))
    payment = only_payment(billing)
    started_before = len(billing.provider.starts)
    # What Stripe's lookup by our payment id in metadata finds now.
    billing.provider.remote = (
        RemotePayment(RemoteStatus.PENDING, payment_intent_id="pi_1")
        if started_before
        else NOT_FOUND
    )
    if point == "payment_start.before_provider_call":
        sleeps: list[float] = []
        with pytest.raises(InvalidState) as waiting:
            pay(billing, invoice, sleeps=sleeps)  # the dead request still holds the lease
        assert waiting.value.code == "payment_starting" and sum(sleeps) >= 3.0
        assert billing.provider.starts == []
        lease_ran_out(payment)

    retried = pay(billing, invoice)
    again = pay(billing, invoice)

    [asked] = billing.provider.starts
    assert asked.payment_id == payment.id
    assert only_payment(billing) is payment
    assert (payment.status, payment.provider_payment_intent_id) == (PaymentStatus.PENDING, "pi_1")
    assert (retried.payment_id, retried.provider_payment_id, retried.reused) == (
        payment.id,
        "pi_1",
        True,
    )
    assert (again.payment_id, again.provider_payment_id, again.reused) == (payment.id, "pi_1", True)


def test_a_retry_after_the_lease_ran_out_starts_with_the_same_key_when_nothing_was_started(
    billing: Billing, invoice: Invoice
) -> None:
    with pytest.raises(InjectedFault):
        pay(billing, invoice, ArmedFaults("payment_start.before_provider_call"))
    payment = only_payment(billing)
    lease_ran_out(payment)
    billing.provider.remote = NOT_FOUND

    retried = pay(billing, invoice)

    assert billing.provider.calls[-2:] == ["fetch_payment", "start_payment"]
    assert [asked.payment_id for asked in billing.provider.starts] == [payment.id]
    assert (retried.payment_id, retried.reused, payment.provider_reference) == (
        payment.id,
        True,
        "pi_1",
    )


def test_a_provider_error_releases_the_lease_so_the_next_click_tries_at_once(
    billing: Billing, invoice: Invoice
) -> None:
    billing.provider.failures["start_payment"] = ProviderError("Stripe is down.")
    with pytest.raises(ProviderError):
        pay(billing, invoice)
    payment = only_payment(billing)
    assert (payment.status, payment.start_lease_until) == (PaymentStatus.PENDING, None)
    del billing.provider.failures["start_payment"]
    billing.provider.remote = NOT_FOUND

    sleeps: list[float] = []
    retried = pay(billing, invoice, sleeps=sleeps)

    assert sleeps == [] and retried.payment_id == payment.id
    assert billing.provider.calls.count("start_payment") == 2  # the failed call, then this one
    assert [asked.payment_id for asked in billing.provider.starts] == [payment.id]


def test_a_payment_cancelled_while_it_was_started_is_stopped_at_the_provider_and_refused(
    billing: Billing, invoice: Invoice, provider: ObservingProvider
) -> None:
    def cancelled_meanwhile(start: PaymentStart) -> None:
        payment = billing.payments.rows[start.payment_id]
        billing.payment_service().move(payment, PaymentStatus.CANCELLED, "invoice cancelled")

    provider.while_starting = cancelled_meanwhile

    with pytest.raises(InvalidState) as refused:
        pay(billing, invoice)

    payment = only_payment(billing)
    assert (refused.value.status_code, refused.value.code) == (409, "payment_cancelled")
    assert [c.payment_intent_id for c in provider.cancelled] == ["pi_1"]
    assert (payment.status, payment.provider_payment_intent_id) == (
        PaymentStatus.CANCELLED,
        "pi_1",
    )


def test_switching_modes_is_refused_when_the_provider_already_moves_the_money(
    billing: Billing, invoice: Invoice
) -> None:
    old = started_payment(billing, invoice)
    billing.provider.failures["cancel_payment"] = InvalidState(
        "Stripe is processing it.", code="payment_in_progress"
    )

    with pytest.raises(InvalidState) as refused:
        pay(billing, invoice, mode=PaymentMode.CHECKOUT)

    assert refused.value.code == "payment_in_progress"
    assert only_payment(billing) is old and old.status is PaymentStatus.PENDING
    assert len(billing.provider.starts) == 1


def test_switching_modes_from_a_payment_that_was_never_started_expires_it_first(
    billing: Billing, invoice: Invoice
) -> None:
    with pytest.raises(InjectedFault):
        pay(billing, invoice, ArmedFaults("payment_start.before_provider_call"))
    old = only_payment(billing)
    lease_ran_out(old)
    billing.provider.remote = NOT_FOUND

    started = pay(billing, invoice, mode=PaymentMode.CHECKOUT)

    new = billing.payments.rows[started.payment_id]
    assert (old.status, new.method, started.checkout_url) == (
        PaymentStatus.EXPIRED,
        "checkout",
        "https://pay.example/cs_1",
    )
    assert billing.provider.cancelled == []  # nothing to stop: it never existed there
    [*_, last] = billing.payments.history(old.id)
    assert (last.to_status, last.reason) == ("expired", "never started at the provider")


def test_switching_modes_from_a_payment_found_by_its_metadata_cancels_that_one(
    billing: Billing, invoice: Invoice
) -> None:
    with pytest.raises(InjectedFault):
        pay(billing, invoice, ArmedFaults("payment_start.after_provider_call"))
    old = only_payment(billing)
    lease_ran_out(old)
    billing.provider.remote = RemotePayment(RemoteStatus.PENDING, payment_intent_id="pi_1")

    started = pay(billing, invoice, mode=PaymentMode.CHECKOUT)

    assert [c.payment_intent_id for c in billing.provider.cancelled] == ["pi_1"]
    assert (old.status, old.provider_payment_intent_id) == (PaymentStatus.CANCELLED, "pi_1")
    assert billing.payments.rows[started.payment_id].status is PaymentStatus.PENDING


def test_a_payment_that_succeeded_before_its_ids_were_recorded_is_captured_by_the_retry(
    billing: Billing, invoice: Invoice
) -> None:
    with pytest.raises(InjectedFault):
        pay(billing, invoice, ArmedFaults("payment_start.after_provider_call"))
    payment = only_payment(billing)
    billing.provider.remote = RemotePayment(
        RemoteStatus.SUCCEEDED, Decimal("228.00"), "USD", payment_intent_id="pi_1"
    )

    with pytest.raises(InvalidState) as paid:
        pay(billing, invoice)

    assert paid.value.code == "invoice_not_payable"
    assert (payment.status, invoice.status) == (PaymentStatus.COMPLETED, InvoiceStatus.PAID)
    assert len(billing.provider.starts) == 1


def test_the_first_customer_recorded_is_kept(billing: Billing) -> None:
    billing.user(PAYER, stripe_customer_id="cus_first")

    kept = RecordCustomerHandler(billing.user_service()).handle(
        PaymentCustomerRecordedEvent(user_id=PAYER, provider="stripe", customer_id="cus_second")
    )

    assert kept.data == "cus_first"
    assert billing.users.rows[PAYER].stripe_customer_id == "cus_first"


# -- the janitor's resolve -------------------------------------------------------------------


def died_before_the_call(billing: Billing, invoice: Invoice) -> Payment:
    with pytest.raises(InjectedFault):
        pay(billing, invoice, ArmedFaults("payment_start.before_provider_call"))
    return only_payment(billing)


def test_resolve_expires_a_payment_the_provider_never_started(
    billing: Billing, invoice: Invoice
) -> None:
    payment = died_before_the_call(billing, invoice)
    lease_ran_out(payment)
    billing.provider.remote = NOT_FOUND

    assert billing.payment_start_process().resolve(payment.id) == "expired"
    assert payment.status is PaymentStatus.EXPIRED and invoice.status is InvoiceStatus.PENDING
    assert billing.provider.starts == [] and billing.provider_calls_in_transaction == []


def test_resolve_records_the_ids_of_a_payment_found_by_its_metadata(
    billing: Billing, invoice: Invoice
) -> None:
    payment = died_before_the_call(billing, invoice)
    lease_ran_out(payment)
    billing.provider.remote = RemotePayment(RemoteStatus.PENDING, payment_intent_id="pi_9")

    assert billing.payment_start_process().resolve(payment.id) == "open"
    assert (payment.status, payment.provider_reference) == (PaymentStatus.PENDING, "pi_9")


def test_resolve_leaves_a_payment_a_request_is_starting_or_that_has_its_ids(
    billing: Billing, invoice: Invoice
) -> None:
    leased = died_before_the_call(billing, invoice)  # its lease has not run out
    resolve = billing.payment_start_process().resolve

    assert resolve(leased.id) is None
    lease_ran_out(leased)
    billing.provider.remote = RemotePayment(RemoteStatus.PENDING, payment_intent_id="pi_9")
    assert resolve(leased.id) == "open"
    assert resolve(leased.id) is None  # it has its ids now
    assert len(billing.provider.fetched) == 1  # only the lookup that held the lease


def test_an_unknown_payment_is_payment_not_found(billing: Billing) -> None:
    with pytest.raises(NotFound) as caught:
        billing.payment_start_process().resolve(uuid.uuid4())
    assert caught.value.code == "payment_not_found"


# -- invoice cancel --------------------------------------------------------------------------


def test_an_invoice_whose_payment_the_provider_will_not_stop_stays_pending(
    billing: Billing, invoice: Invoice
) -> None:
    payment = started_payment(billing, invoice)
    billing.provider.failures["cancel_payment"] = InvalidState(
        "Stripe is processing it.", code="payment_in_progress"
    )

    with pytest.raises(InvalidState) as refused:
        billing.invoice_cancel_process().run(PAYER, invoice.id)

    assert refused.value.code == "payment_in_progress"
    assert (invoice.status, payment.status) == (InvoiceStatus.PENDING, PaymentStatus.PENDING)
    assert billing.provider_calls_in_transaction == []


def test_a_payment_started_while_the_invoice_is_cancelled_is_stopped_too(
    billing: Billing, invoice: Invoice
) -> None:
    first = started_payment(billing, invoice)
    original = billing.provider.cancel_payment
    racing: list[uuid.UUID] = []

    def cancel_and_race(existing: object) -> None:
        original(existing)  # type: ignore[arg-type]
        if not racing:  # another tab pays (by hand) while the first payment is being stopped
            racing.append(start(billing, invoice, provider="manual").payment_id)

    billing.provider.cancel_payment = cancel_and_race  # type: ignore[method-assign]

    billing.invoice_cancel_process().run(PAYER, invoice.id)

    second = billing.payments.rows[racing[0]]
    assert invoice.status is InvoiceStatus.CANCELLED
    assert (first.status, second.status) == (PaymentStatus.CANCELLED, PaymentStatus.CANCELLED)
