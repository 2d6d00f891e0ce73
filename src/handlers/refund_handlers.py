"""The admin refund in commands around one provider call (src/intents/refund.py runs them):
commit the intent, resume it, record the outcome, defer a retry; and the janitor's list.

Rows are locked in capture's order (invoice, payment, then the refund and the balance), and
no handler here talks to a provider: the call happens between two of these commands.

The attempt lease (``PaymentRefund.attempt_lease_until``) keeps it to one caller at a time:
the command that hands a refund to the process for a provider call takes it under the
refund's row lock (the request for a new refund or a replay, the resume for a job or the
janitor); an attempt that finds it held is told ``busy`` and calls nobody. Recording the
outcome, a deferred retry or a release ends it; a holder that died leaves it to run out
(PROVIDER_LEASE_SECONDS: longer than any provider call and pool wait of its holder).
"""

import uuid
from datetime import timedelta

from src.clock import utc_now
from src.events.base import EventResult, IEventHandler
from src.events.payment_events import PaymentRefundedEvent, RefundRequestedEvent
from src.events.payment_results import RefundIntent, RefundOutcome
from src.events.refund_events import (
    RefundAttemptReleasedEvent,
    RefundOutcomeReportedEvent,
    RefundResumeRequestedEvent,
    RefundRetryRequestedEvent,
    RequestedRefundsListedEvent,
)
from src.jobs.names import REFUND_TASK
from src.models.invoice import Invoice, InvoiceStatus
from src.models.payment import Payment, PaymentRefund, PaymentStatus, RefundStatus
from src.services.grant_reversal_service import GrantReversalService
from src.services.invoice_service import InvoiceService
from src.services.payment_service import PaymentService, existing
from src.services.ports import JobQueuePort
from src.services.refund_service import RefundService


def refund_outcome(
    refund: PaymentRefund, payment: Payment, invoice: Invoice | None
) -> RefundOutcome:
    """The refund as the admin sees it, with the payment and invoice as they stand now."""
    return RefundOutcome(
        payment_id=payment.id,
        refund_id=refund.id,
        amount=refund.amount,
        currency=refund.currency,
        payment_status=payment.status,
        refunded_amount=payment.refunded_amount,
        invoice_status=invoice.status.value if invoice else "unknown",
        tokens_reversed=refund.tokens_reversed,
        tokens_shortfall=refund.tokens_shortfall,
        status=refund.status,
        failure_message=refund.failure_message,
    )


def refund_intent(
    refund: PaymentRefund,
    payment: Payment,
    invoice: Invoice | None,
    resumed: bool,
    busy: bool = False,
) -> RefundIntent:
    """What the process needs to call the provider, or the outcome when there is one."""
    outcome = refund_outcome(refund, payment, invoice)
    return RefundIntent(
        refund_id=refund.id,
        provider=payment.provider,
        existing=existing(payment),
        amount=refund.amount,
        pending=outcome,
        resumed=resumed,
        settled=None if refund.status is RefundStatus.REQUESTED else outcome,
        busy=busy,
    )


def take_attempt(refunds: RefundService, refund: PaymentRefund, lease: timedelta) -> bool:
    """Under the refund's row lock: take its attempt lease for a provider call, unless the
    refund has an outcome (nothing to call) or another attempt holds it (False: busy)."""
    if refund.status is not RefundStatus.REQUESTED:
        return True
    now = utc_now()
    if refunds.attempt_leased(refund, now):
        return False
    refunds.lease_attempt(refund, now + lease)
    return True


class RequestRefundHandler(IEventHandler[RefundRequestedEvent, RefundIntent]):
    """Every check, then the intent: a ``requested`` refund row whose id the provider is
    called with next. The payment row is locked first, so concurrent refunds of one payment
    are decided one at a time and each counts the ones still in flight: never more than was
    paid. A retry under the same Idempotency-Key finds its refund (no second row, no new
    provider key) and takes its attempt lease, or is ``busy`` while another attempt holds it;
    a new refund is committed with the lease held. A full refund whose tokens are spent is
    409 unless ``force``."""

    def __init__(
        self,
        payment_service: PaymentService,
        refund_service: RefundService,
        invoice_service: InvoiceService,
        grant_reversal_service: GrantReversalService,
        lease_seconds: int,
    ) -> None:
        self._payments = payment_service
        self._refunds = refund_service
        self._invoices = invoice_service
        self._reversal = grant_reversal_service
        self._lease = timedelta(seconds=lease_seconds)

    def handle(self, event: RefundRequestedEvent) -> EventResult[RefundIntent]:
        invoice_id = self._payments.get(event.payment_id).invoice_id
        invoice = self._invoices.get_for_capture(invoice_id) if invoice_id else None
        payment = self._payments.get_locked(event.payment_id)
        if event.idempotency_key is not None:
            earlier = self._refunds.find_by_key(payment.id, event.idempotency_key)
            if earlier is not None:
                self._refunds.check_replay(earlier, event.amount, event.force)
                earlier = self._refunds.get_locked(earlier.id)
                taken = take_attempt(self._refunds, earlier, self._lease)
                intent = refund_intent(earlier, payment, invoice, resumed=True, busy=not taken)
                return EventResult(intent)
        reserved = self._refunds.reserved(payment.id)
        amount = self._payments.refundable(payment, event.amount, reserved)
        completes = payment.refunded_amount + reserved + amount == payment.amount
        applied = payment.status is not PaymentStatus.REQUIRES_REFUND  # else nothing granted
        if completes and applied and invoice is not None and invoice.status is InvoiceStatus.PAID:
            # Only the check: the grants are taken back when the provider has refunded.
            self._reversal.plan(invoice, event.force)
        refund = self._refunds.request(
            payment,
            amount,
            reason=event.reason,
            created_by=event.admin_id,
            idempotency_key=event.idempotency_key,
            force=event.force,
            lease_until=utc_now() + self._lease,
        )
        return EventResult(refund_intent(refund, payment, invoice, resumed=False))


class ResumeRefundHandler(IEventHandler[RefundResumeRequestedEvent, RefundIntent]):
    """A committed refund to ask the provider about again (it may have acted), for a job or
    the janitor: under the refund's row lock its attempt lease is taken, unless another
    attempt holds it (``busy``: the caller calls nobody and tries again later)."""

    def __init__(
        self,
        payment_service: PaymentService,
        refund_service: RefundService,
        invoice_service: InvoiceService,
        lease_seconds: int,
    ) -> None:
        self._payments = payment_service
        self._refunds = refund_service
        self._invoices = invoice_service
        self._lease = timedelta(seconds=lease_seconds)

    def handle(self, event: RefundResumeRequestedEvent) -> EventResult[RefundIntent]:
        refund = self._refunds.get_locked(event.refund_id)
        taken = take_attempt(self._refunds, refund, self._lease)
        payment = self._payments.get(refund.payment_id)
        invoice = self._invoices.find(payment.invoice_id) if payment.invoice_id else None
        return EventResult(refund_intent(refund, payment, invoice, resumed=True, busy=not taken))


class RecordRefundOutcomeHandler(IEventHandler[RefundOutcomeReportedEvent, RefundOutcome]):
    """Records what the provider said, once (a second report finds the refund settled).

    Refunded → the provider's id is kept, the payment's total and status move, and when that
    completes the payment the invoice's grants are taken back: the money is already back, so
    tokens spent since the request are recorded as the shortfall, as ``force`` would.
    Refused → the refund failed with the provider's message; nothing else changes. Either way
    the attempt lease ends."""

    def __init__(
        self,
        payment_service: PaymentService,
        refund_service: RefundService,
        invoice_service: InvoiceService,
        grant_reversal_service: GrantReversalService,
    ) -> None:
        self._payments = payment_service
        self._refunds = refund_service
        self._invoices = invoice_service
        self._reversal = grant_reversal_service

    def handle(self, event: RefundOutcomeReportedEvent) -> EventResult[RefundOutcome]:
        known = self._refunds.get(event.refund_id)
        invoice_id = self._payments.get(known.payment_id).invoice_id
        invoice = self._invoices.get_for_capture(invoice_id) if invoice_id else None
        payment = self._payments.get_locked(known.payment_id)
        refund = self._refunds.get_locked(event.refund_id)
        if refund.status is not RefundStatus.REQUESTED:
            return EventResult(refund_outcome(refund, payment, invoice))
        now = utc_now()
        if event.failure_message is not None:
            self._refunds.fail(refund, event.failure_message, now)
            return EventResult(refund_outcome(refund, payment, invoice))

        # Money never applied granted nothing: its refund takes nothing back (the invoice may
        # be paid by another payment).
        applied = payment.status is not PaymentStatus.REQUIRES_REFUND
        provider_id = event.provider_refund_id
        counted = self._refunds.find_by_provider_id(provider_id) if provider_id else None
        if counted is not None and counted.id != refund.id:
            # The provider's report was recorded first as a refund we did not know: its row
            # holds the id and the money is counted there, so it is not counted again.
            self._refunds.succeed(refund, None, now)
        else:
            self._refunds.succeed(refund, provider_id, now)
            self._payments.settle_refund(payment, refund.amount)
        if (
            applied
            and payment.status is PaymentStatus.REFUNDED
            and invoice is not None
            and invoice.status is InvoiceStatus.PAID
        ):
            plan = self._reversal.plan(invoice, force=True)
            self._refunds.record_reversal(refund, self._reversal.apply(invoice, plan, now))
            self._invoices.mark_refunded(invoice)
        refunded = PaymentRefundedEvent(
            payment_id=payment.id,
            invoice_id=invoice_id,
            amount=refund.amount,
            currency=refund.currency,
            full=payment.status is PaymentStatus.REFUNDED,
        )
        return EventResult(refund_outcome(refund, payment, invoice), (refunded,))


class ScheduleRefundRetryHandler(IEventHandler[RefundRetryRequestedEvent, bool]):
    """The provider could not be reached: the attempt lease ends (the call is over) and the
    ``refund.execute`` job asks again, after this commits (one waiting job per refund: the
    queueing lock)."""

    def __init__(self, refund_service: RefundService, job_queue: JobQueuePort) -> None:
        self._refunds = refund_service
        self._jobs = job_queue

    def handle(self, event: RefundRetryRequestedEvent) -> EventResult[bool]:
        refund = self._refunds.get_locked(event.refund_id)
        if refund.status is not RefundStatus.REQUESTED:
            return EventResult(False)
        self._refunds.release_attempt(refund)
        job = self._jobs.enqueue(
            REFUND_TASK, queueing_lock=f"refund-{refund.id}", refund_id=refund.id
        )
        return EventResult(job is not None)


class ReleaseRefundAttemptHandler(IEventHandler[RefundAttemptReleasedEvent, bool]):
    """A resumed attempt's provider call went unanswered: its attempt lease ends, so the
    job's own retry (or the next janitor run) may call at once."""

    def __init__(self, refund_service: RefundService) -> None:
        self._refunds = refund_service

    def handle(self, event: RefundAttemptReleasedEvent) -> EventResult[bool]:
        refund = self._refunds.get_locked(event.refund_id)
        if refund.status is not RefundStatus.REQUESTED or refund.attempt_lease_until is None:
            return EventResult(False)
        self._refunds.release_attempt(refund)
        return EventResult(True)


class ListRequestedRefundsHandler(IEventHandler[RequestedRefundsListedEvent, list[uuid.UUID]]):
    """Reads only: the refunds the janitor resolves from the provider's own state."""

    def __init__(self, refund_service: RefundService) -> None:
        self._refunds = refund_service

    def handle(self, event: RequestedRefundsListedEvent) -> EventResult[list[uuid.UUID]]:
        waiting = self._refunds.waiting(event.created_before, event.limit)
        return EventResult([refund.id for refund in waiting])
