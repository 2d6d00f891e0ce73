"""The admin refund as a provider intent, over the fakes and FakePaymentProvider: the intent
is committed before the provider is called, a retry under the same Idempotency-Key converges
on one refund, an unreachable provider leaves the refund to a job, a refusal fails it, and a
crash at each fault point ends, after a retry or the janitor's resolve, in exactly one. The
attempt lease keeps two attempts at the same moment from both calling the provider."""

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from src.clock import utc_now
from src.errors import InvalidState, ProviderError, Unprocessable
from src.events.payment_results import RefundOutcome
from src.events.refund_events import RequestedRefundsListedEvent
from src.faults import InjectedFault
from src.models.invoice import Invoice, InvoiceStatus
from src.intents.refund import RefundInProgress
from src.models.payment import Payment, PaymentRefund, PaymentStatus, RefundStatus
from src.models.token_ledger import TokenTransactionType
from src.providers.base import ObservedRefund, ProviderRefused
from tests.unit.builders import PAYER, Billing, paying
from tests.unit.fakes.jobs import DeferredJob
from tests.unit.payment_flows import spend
from tests.unit.reconcile_builders import janitor_process
from tests.unit.refund_builders import LEASE_SECONDS, ArmedFault, RefundDesk

S = PaymentStatus
UNREACHABLE = ProviderError("The payment provider refused or failed the request.")
POINTS = (
    "refund.before_provider_call",
    "refund.after_provider_call",
    "refund.after_outcome_commit",
)


@pytest.fixture
def payment(billing: Billing, invoice: Invoice) -> Payment:
    """PAYER's 228.00 invoice paid through the fake Stripe (payment intent "pi_1", captured
    by its webhook): 1050 tokens, the plan and the add-on granted."""
    started = billing.payment_service().open(invoice, "stripe", "card", None)
    started.provider_payment_intent_id = "pi_1"
    billing.payment_captured_handler().handle(
        paying(
            invoice,
            provider="stripe",
            payment_reference="pi_1",
            payment_id=started.id,
            charge_id="ch_1",
            provider_event_id="evt_paid",
            provider_event_type="payment_intent.succeeded",
        )
    )
    assert started.status is S.COMPLETED
    return started


def the_refund(billing: Billing) -> PaymentRefund:
    [row] = billing.payments.refunds
    return row


def lease_ran_out(billing: Billing) -> None:
    """Time passes: a dead attempt's lease runs out (no request, job or janitor lives so long)."""
    the_refund(billing).attempt_lease_until = utc_now() - timedelta(seconds=1)


def refund_entries(billing: Billing) -> int:
    return sum(
        1
        for e in billing.tokens.entries_for(PAYER)
        if e.transaction_type is TokenTransactionType.REFUND
    )


class UnitOfWorkWatch:
    """Fault points that note, at each point, whether a transaction is open there."""

    def __init__(self) -> None:
        self.desk: RefundDesk | None = None
        self.open_at: dict[str, bool] = {}

    def reached(self, point: str) -> None:
        assert self.desk is not None
        log = self.desk.unit_of_work.log
        self.open_at[point] = bool(log) and log[-1] == "begin"


def test_the_intent_commits_before_the_provider_is_called_and_the_outcome_after(
    billing: Billing, payment: Payment
) -> None:
    watch = UnitOfWorkWatch()
    desk = RefundDesk(billing, watch)
    watch.desk = desk

    outcome = desk.refund(payment.id, key="k-1")

    assert watch.open_at == {point: False for point in POINTS}
    assert desk.unit_of_work.log == ["begin", "commit", "begin", "commit"]
    [row] = billing.payments.refunds
    assert (row.id, row.status, row.idempotency_key, row.provider_refund_id) == (
        outcome.refund_id,
        RefundStatus.SUCCEEDED,
        "k-1",
        "re_1",
    )
    assert (outcome.status, outcome.payment_status, outcome.tokens_reversed) == (
        RefundStatus.SUCCEEDED,
        S.REFUNDED,
        1050,
    )
    assert billing.provider.calls.count("find_refund") == 0  # a new intent: nothing to find


def test_a_retry_with_the_same_key_answers_the_same_refund_without_calling_again(
    billing: Billing, payment: Payment
) -> None:
    desk = RefundDesk(billing)
    first = desk.refund(payment.id, "28.00", key="k-1")
    calls = list(billing.provider.calls)

    again = desk.refund(payment.id, "28.00", key="k-1")
    no_amount = desk.refund(payment.id, key="k-1")  # "all that is left" then was 28.00

    assert again.refund_id == first.refund_id == no_amount.refund_id
    assert again.status is RefundStatus.SUCCEEDED and billing.provider.calls == calls
    assert len(billing.payments.refunds) == 1
    assert (payment.refunded_amount, payment.status) == (Decimal("28.00"), S.PARTIALLY_REFUNDED)


@pytest.mark.parametrize("change", [{"amount": "29.00"}, {"force": True}])
def test_the_same_key_for_another_refund_is_idempotency_key_reused(
    billing: Billing, payment: Payment, change: dict[str, object]
) -> None:
    desk = RefundDesk(billing)
    first = desk.refund(payment.id, "28.00", key="k-1")
    asked: dict[str, object] = {"amount": "28.00", "force": False, **change}

    with pytest.raises(Unprocessable) as caught:
        desk.refund(payment.id, str(asked["amount"]), bool(asked["force"]), key="k-1")

    assert (caught.value.status_code, caught.value.code) == (422, "idempotency_key_reused")
    assert caught.value.details == {"refund_id": str(first.refund_id)}
    assert len(billing.payments.refunds) == 1 and len(billing.provider.refunds) == 1


def test_an_unreachable_provider_leaves_the_refund_requested_for_a_job(
    billing: Billing, payment: Payment, invoice: Invoice
) -> None:
    billing.provider.failures["refund"] = UNREACHABLE
    desk = RefundDesk(billing)

    outcome = desk.refund(payment.id, key="k-1")

    assert (outcome.status, outcome.payment_status, outcome.tokens_reversed) == (
        RefundStatus.REQUESTED,
        S.COMPLETED,
        0,
    )
    assert billing.job_queue.jobs == [
        DeferredJob(
            "refund.execute", f"refund-{outcome.refund_id}", {"refund_id": outcome.refund_id}
        )
    ]
    assert (payment.refunded_amount, invoice.status) == (Decimal("0.00"), InvoiceStatus.PAID)
    assert billing.token_service().get_balance(PAYER).balance == 1050
    # What waits for the provider counts as refunded: no second refund of the same money.
    with pytest.raises(InvalidState) as caught:
        desk.refund(payment.id, "0.01")
    assert caught.value.code == "refund_exceeds_payment"


def test_the_job_resolves_the_waiting_refund_looking_at_the_provider_first(
    billing: Billing, payment: Payment, invoice: Invoice
) -> None:
    billing.provider.failures["refund"] = UNREACHABLE
    desk = RefundDesk(billing)
    waiting = desk.refund(payment.id)
    del billing.provider.failures["refund"]

    outcome = desk.process.resolve(waiting.refund_id)

    assert billing.provider.refund_lookups == [waiting.refund_id]
    assert billing.provider.calls.count("refund") == 2  # the same key both times
    assert [key for _, _, key in billing.provider.refunds] == [waiting.refund_id]
    assert list(billing.provider.made_refunds) == [waiting.refund_id]
    assert (outcome.status, outcome.payment_status, outcome.tokens_reversed) == (
        RefundStatus.SUCCEEDED,
        S.REFUNDED,
        1050,
    )
    assert invoice.status is InvoiceStatus.REFUNDED


def test_a_refund_whose_answer_was_lost_is_found_at_the_provider_not_made_again(
    billing: Billing, payment: Payment
) -> None:
    billing.provider.lost_refund_answer = UNREACHABLE
    desk = RefundDesk(billing)
    waiting = desk.refund(payment.id, key="k-1")
    billing.provider.lost_refund_answer = None

    outcome = desk.refund(payment.id, key="k-1")

    assert outcome.refund_id == waiting.refund_id and outcome.status is RefundStatus.SUCCEEDED
    assert len(billing.provider.refunds) == 1  # found by its metadata, never asked twice
    assert (payment.status, payment.refunded_amount) == (S.REFUNDED, Decimal("228.00"))


def test_a_resolve_that_cannot_reach_the_provider_raises_for_the_job_to_retry(
    billing: Billing, payment: Payment
) -> None:
    billing.provider.failures["refund"] = UNREACHABLE
    desk = RefundDesk(billing)
    waiting = desk.refund(payment.id)

    with pytest.raises(ProviderError):
        desk.process.resolve(waiting.refund_id)

    [row] = billing.payments.refunds
    assert row.status is RefundStatus.REQUESTED
    assert len(billing.job_queue.jobs) == 1  # the job retries itself: no second one


def test_a_refused_refund_fails_and_changes_nothing_else(
    billing: Billing, payment: Payment, invoice: Invoice
) -> None:
    billing.provider.failures["refund"] = ProviderRefused("Charge already refunded.")
    desk = RefundDesk(billing)

    outcome = desk.refund(payment.id, key="k-1")

    assert (outcome.status, outcome.failure_message) == (
        RefundStatus.FAILED,
        "Charge already refunded.",
    )
    [row] = billing.payments.refunds
    assert (row.status, row.failure_message) == (RefundStatus.FAILED, "Charge already refunded.")
    assert (payment.status, payment.refunded_amount) == (S.COMPLETED, Decimal("0.00"))
    assert invoice.status is InvoiceStatus.PAID and refund_entries(billing) == 0
    assert billing.job_queue.jobs == [] and desk.published == []
    # A failed refund holds nothing: a new request may refund the payment.
    del billing.provider.failures["refund"]
    assert desk.refund(payment.id, key="k-2").status is RefundStatus.SUCCEEDED


def test_tokens_spent_while_the_provider_refunds_become_the_shortfall(
    billing: Billing, payment: Payment
) -> None:
    class SpendDuringTheCall:
        def reached(self, point: str) -> None:
            if point == "refund.after_provider_call":
                spend(billing, 1000)

    outcome = RefundDesk(billing, SpendDuringTheCall()).refund(payment.id)

    assert (outcome.status, outcome.tokens_reversed, outcome.tokens_shortfall) == (
        RefundStatus.SUCCEEDED,
        50,
        1000,
    )
    assert billing.payments.refunds[0].tokens_shortfall == 1000
    assert billing.token_service().get_balance(PAYER).balance == 0


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("recovery", ["retry", "janitor"])
def test_a_crash_at_each_fault_point_converges_on_one_refund(
    billing: Billing, payment: Payment, invoice: Invoice, point: str, recovery: str
) -> None:
    crashing = RefundDesk(billing, ArmedFault(point))
    with pytest.raises(InjectedFault):
        crashing.refund(payment.id, key="k-1")
    made_before_recovery = len(billing.provider.made_refunds)
    if point != "refund.after_outcome_commit":
        # The dead attempt still holds the lease: nobody calls the provider until it runs out.
        calls = list(billing.provider.calls)
        assert RefundDesk(billing).refund(payment.id, key="k-1").status is RefundStatus.REQUESTED
        with pytest.raises(RefundInProgress):
            RefundDesk(billing).process.resolve(the_refund(billing).id)
        assert billing.provider.calls == calls
        lease_ran_out(billing)

    if recovery == "retry":
        outcome = RefundDesk(billing).refund(payment.id, key="k-1")
    else:
        before = utc_now() + timedelta(minutes=1)
        listed = crashing.dispatcher.emit(RequestedRefundsListedEvent(created_before=before)).data
        [refund_id] = listed or [billing.payments.refunds[0].id]
        outcome = RefundDesk(billing).process.resolve(refund_id)

    assert made_before_recovery == (0 if point == "refund.before_provider_call" else 1)
    assert len(billing.provider.made_refunds) == 1 and len(billing.provider.refunds) == 1
    [row] = billing.payments.refunds
    assert (row.id, row.status, row.provider_refund_id) == (
        outcome.refund_id,
        RefundStatus.SUCCEEDED,
        "re_1",
    )
    assert (payment.status, payment.refunded_amount) == (S.REFUNDED, Decimal("228.00"))
    assert invoice.status is InvoiceStatus.REFUNDED
    assert refund_entries(billing) == 2  # one debit per purchase, once
    assert billing.token_service().get_balance(PAYER).balance == 0


def test_a_provider_report_that_overtakes_the_outcome_is_not_counted_twice(
    billing: Billing, payment: Payment
) -> None:
    crashing = RefundDesk(billing, ArmedFault("refund.after_provider_call"))
    with pytest.raises(InjectedFault):
        crashing.refund(payment.id, "28.00", key="k-1")
    [row] = billing.payments.refunds
    lease_ran_out(billing)

    # charge.refunded lists our refund (metadata refund_id) before we recorded it.
    recorded = billing.payment_service().observe_refunds(
        payment, [ObservedRefund("re_1", Decimal("28.00"), row.id)], Decimal("28.00"), "evt_1"
    )
    between = payment.refunded_amount
    outcome = RefundDesk(billing).refund(payment.id, "28.00", key="k-1")

    assert (recorded, between) == (0, Decimal("0.00"))
    assert outcome.status is RefundStatus.SUCCEEDED and len(billing.payments.refunds) == 1
    assert (payment.status, payment.refunded_amount) == (S.PARTIALLY_REFUNDED, Decimal("28.00"))


def test_the_janitor_lists_only_refunds_still_requested_before_its_window(
    billing: Billing, payment: Payment
) -> None:
    billing.provider.failures["refund"] = UNREACHABLE
    desk = RefundDesk(billing)
    waiting = desk.refund(payment.id, "28.00")
    del billing.provider.failures["refund"]
    desk.refund(payment.id, "10.00")  # succeeded: nothing to resolve
    now = utc_now()

    def listed(created_before: datetime) -> list[uuid.UUID]:
        event = RequestedRefundsListedEvent(created_before=created_before)
        return desk.dispatcher.emit(event).data

    assert listed(now + timedelta(seconds=1)) == [waiting.refund_id]
    assert listed(now - timedelta(minutes=5)) == []


def test_resolving_a_settled_refund_calls_nobody(billing: Billing, payment: Payment) -> None:
    desk = RefundDesk(billing)
    done = desk.refund(payment.id)
    calls = list(billing.provider.calls)

    assert desk.process.resolve(done.refund_id).status is RefundStatus.SUCCEEDED
    assert billing.provider.calls == calls


def test_the_janitor_run_resolves_a_refund_left_requested_by_a_crash(
    billing: Billing, payment: Payment
) -> None:
    """The periodic janitor (not just ``resolve``): Stripe refunded, the outcome was lost."""
    with pytest.raises(InjectedFault):
        RefundDesk(billing, ArmedFault("refund.after_provider_call")).refund(payment.id, key="k")
    lease_ran_out(billing)

    report = janitor_process(billing).run(utc_now() + timedelta(minutes=6))

    assert report == {"refund_succeeded": 1}
    assert len(billing.provider.made_refunds) == 1
    [row] = billing.payments.refunds
    assert row.status is RefundStatus.SUCCEEDED


# -- the attempt lease ---------------------------------------------------------------------


class DuringTheCall:
    """Fault points that run ``second`` once, when the first attempt is about to call."""

    def __init__(self, second: Callable[[], object]) -> None:
        self.second = second
        self.answers: list[object] = []

    def reached(self, point: str) -> None:
        if point == "refund.before_provider_call" and not self.answers:
            try:
                self.answers.append(self.second())
            except Exception as error:  # noqa: BLE001 - the test looks at what it was
                self.answers.append(error)


def test_the_request_commits_the_refund_with_its_lease_and_the_outcome_ends_it(
    billing: Billing, payment: Payment
) -> None:
    seen: list[datetime | None] = []

    class LeaseAtTheCall:
        def reached(self, point: str) -> None:
            if point == "refund.before_provider_call":
                seen.append(the_refund(billing).attempt_lease_until)

    asked_at = utc_now()
    RefundDesk(billing, LeaseAtTheCall()).refund(payment.id, key="k-1")

    [held] = seen
    assert held is not None
    assert asked_at + timedelta(seconds=LEASE_SECONDS) <= held
    assert held <= utc_now() + timedelta(seconds=LEASE_SECONDS)
    assert the_refund(billing).attempt_lease_until is None


def test_a_resolve_while_the_request_calls_the_provider_calls_nobody(
    billing: Billing, payment: Payment, invoice: Invoice
) -> None:
    """The job or the janitor reaches a refund whose request is asking the provider now: it
    is told to try later (a retryable 503), and the request's one refund stands."""
    desk = RefundDesk(billing)
    during = DuringTheCall(lambda: desk.process.resolve(the_refund(billing).id))

    outcome = RefundDesk(billing, during).refund(payment.id, key="k-1")

    [busy] = during.answers
    assert isinstance(busy, RefundInProgress)
    assert (busy.status_code, busy.code) == (503, "refund_in_progress")
    assert billing.provider.calls.count("find_refund") == 0
    assert len(billing.provider.refunds) == 1 and len(billing.provider.made_refunds) == 1
    assert outcome.status is RefundStatus.SUCCEEDED
    assert (payment.status, payment.refunded_amount) == (S.REFUNDED, Decimal("228.00"))
    assert invoice.status is InvoiceStatus.REFUNDED and refund_entries(billing) == 2


def test_an_admin_retry_while_the_job_calls_the_provider_answers_requested(
    billing: Billing, payment: Payment
) -> None:
    billing.provider.failures["refund"] = UNREACHABLE
    waiting = RefundDesk(billing).refund(payment.id, key="k-1")
    del billing.provider.failures["refund"]
    during = DuringTheCall(lambda: RefundDesk(billing).refund(payment.id, key="k-1"))

    outcome = RefundDesk(billing, during).process.resolve(waiting.refund_id)

    [retried] = during.answers
    assert isinstance(retried, RefundOutcome)
    assert (retried.refund_id, retried.status) == (waiting.refund_id, RefundStatus.REQUESTED)
    assert billing.provider.refund_lookups == [waiting.refund_id]  # the job's only
    assert [key for _, _, key in billing.provider.refunds] == [waiting.refund_id]
    assert len(billing.provider.made_refunds) == 1
    assert outcome.status is RefundStatus.SUCCEEDED
    assert the_refund(billing).attempt_lease_until is None


def test_two_resolves_at_once_make_one_call(billing: Billing, payment: Payment) -> None:
    """Two janitors (or a job and the janitor) on the same refund."""
    billing.provider.failures["refund"] = UNREACHABLE
    waiting = RefundDesk(billing).refund(payment.id)
    del billing.provider.failures["refund"]
    during = DuringTheCall(lambda: RefundDesk(billing).process.resolve(waiting.refund_id))

    outcome = RefundDesk(billing, during).process.resolve(waiting.refund_id)

    assert [type(answer) for answer in during.answers] == [RefundInProgress]
    assert billing.provider.refund_lookups == [waiting.refund_id]
    assert len(billing.provider.made_refunds) == 1
    assert outcome.status is RefundStatus.SUCCEEDED
    assert payment.refunded_amount == Decimal("228.00")


def test_the_resume_takes_the_lease_under_the_refund_row_lock(
    billing: Billing, payment: Payment
) -> None:
    billing.provider.failures["refund"] = UNREACHABLE
    waiting = RefundDesk(billing).refund(payment.id)
    del billing.provider.failures["refund"]
    billing.payments.locked_refunds.clear()

    RefundDesk(billing).process.resolve(waiting.refund_id)

    # The resume locks it to take the lease; the outcome locks it to record.
    assert billing.payments.locked_refunds == [waiting.refund_id, waiting.refund_id]


def test_an_unanswered_call_ends_the_lease_so_the_next_attempt_goes_at_once(
    billing: Billing, payment: Payment
) -> None:
    billing.provider.failures["refund"] = UNREACHABLE
    desk = RefundDesk(billing)
    waiting = desk.refund(payment.id)
    assert the_refund(billing).attempt_lease_until is None  # the job may call at once

    with pytest.raises(ProviderError):
        desk.process.resolve(waiting.refund_id)
    assert the_refund(billing).attempt_lease_until is None  # and so may its own retry
    del billing.provider.failures["refund"]

    assert desk.process.resolve(waiting.refund_id).status is RefundStatus.SUCCEEDED
    assert len(billing.provider.made_refunds) == 1


def test_a_refusal_ends_the_lease(billing: Billing, payment: Payment) -> None:
    billing.provider.failures["refund"] = ProviderRefused("no")

    RefundDesk(billing).refund(payment.id, key="k-1")

    row = the_refund(billing)
    assert (row.status, row.attempt_lease_until) == (RefundStatus.FAILED, None)


def test_the_janitor_leaves_a_held_refund_for_its_next_run(
    billing: Billing, payment: Payment
) -> None:
    with pytest.raises(InjectedFault):
        RefundDesk(billing, ArmedFault("refund.before_provider_call")).refund(payment.id)
    janitor = janitor_process(billing)
    calls = list(billing.provider.calls)

    held = janitor.run(utc_now() + timedelta(minutes=6))
    assert billing.provider.calls == calls
    lease_ran_out(billing)
    later = janitor.run(utc_now() + timedelta(minutes=6))

    assert (held, later) == ({"refund_unreachable": 1}, {"refund_succeeded": 1})
    assert len(billing.provider.made_refunds) == 1
    assert the_refund(billing).status is RefundStatus.SUCCEEDED
