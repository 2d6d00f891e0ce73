"""Starting a payment (``POST /user/invoices/<id>/pay``) as a provider intent.

1. command 1, under the invoice's row lock: the checks, then the open payment is handed back
   (resume), replaced (another mode: stopped at the provider first), waited for (another
   request holds its start lease), or a new ``pending`` payment (the intent) is committed;
2. the provider's customer is created if none is known, and recorded (the first one kept);
3. the provider is asked to create the payment, the payment id as idempotency key; a payment
   committed earlier without provider ids (its request died) is first looked for by that id
   in the provider's metadata: found → its ids are recorded; never started → started now,
   with the same key. Stripe forgets keys after 24 hours and localstripe ignores them, so
   the lookup and the lease, not the key, keep it to one PaymentIntent. A payment the
   provider will not stop (paid, or being paid: a ``complete`` Checkout Session, a
   confirmed intent) is never replaced, in any mode: a success is captured and answered
   (``reused``), else 409 ``payment_in_progress``;
4. command 2 records the provider's ids. A payment cancelled or expired meanwhile is stopped
   at the provider and answered 409.
No transaction is open and no row lock is held during 2 and 3 (the dispatcher commits at the
end of each emit). ``resolve`` is the janitor's: it completes what a dead request left.
"""

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import replace

from sqlalchemy.exc import SQLAlchemyError

from src.errors import ApiError, Conflict, InvalidState
from src.events.dispatcher import EventDispatcher
from src.events.payment_events import PaymentStartRequestedEvent
from src.events.payment_results import PaymentStartOutcome
from src.events.payment_start_events import (
    PaymentCancellationRecordedEvent,
    PaymentCustomerRecordedEvent,
    PaymentStartLeaseRequestedEvent,
    PaymentStartPlan,
    PaymentStartReportedEvent,
    StartAction,
)
from src.events.reconcile_events import PaymentResolutionReportedEvent, Resolution
from src.faults import FaultPoints
from src.handlers.payment_start_handlers import payment_in_progress
from src.intents.base import ProviderProcess
from src.intents.stopping import refused_as_in_progress, settle_refused_stop, stop_at_provider
from src.models.payment import PaymentStatus
from src.providers.base import (
    ExistingPayment,
    PaymentProvider,
    PaymentProviders,
    RemotePayment,
    RemoteStatus,
    StartedPayment,
)

logger = logging.getLogger(__name__)
FLOW = "payment_start"
# Rounds that act (a replacement, a customer, a lookup); waiting is bounded by time instead.
MAX_ROUNDS = 8


class PaymentStartProcess(ProviderProcess):
    def __init__(
        self,
        dispatcher_factory: Callable[[], EventDispatcher],
        payment_providers: PaymentProviders,
        fault_points: FaultPoints,
        wait_seconds: float = 3.0,
        poll_seconds: float = 0.25,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``wait_seconds``: how long a request that finds another one creating the payment
        waits for its outcome before answering 409 ``payment_starting`` (retry later)."""
        super().__init__(dispatcher_factory, payment_providers, fault_points)
        self._wait = wait_seconds
        self._poll = poll_seconds
        self._sleep = sleep

    def run(self, request: PaymentStartRequestedEvent) -> PaymentStartOutcome:
        provider = self._providers.get(request.provider)
        waited, looked_up, rounds = 0.0, False, 0
        while True:
            plan = self._dispatcher().emit(request).data
            if plan.action is StartAction.WAIT:
                # A double click, or a retry after a request died: look for its effect once,
                # then wait for the holder's outcome; never call start for it meanwhile.
                if not looked_up:
                    looked_up = True
                    if self._look_up(provider, plan, expire_missing=False):
                        continue
                if waited >= self._wait:
                    raise InvalidState(
                        "This invoice's payment is being started; try again in a few seconds.",
                        code="payment_starting",
                    )
                self._sleep(self._poll)
                waited += self._poll
                continue
            rounds += 1
            if rounds > MAX_ROUNDS:
                raise Conflict(
                    "This invoice's payments keep changing; try again.", code="payment_contended"
                )
            if plan.action is StartAction.CUSTOMER:
                self._ensure_customer(provider, plan)
                request = replace(request, customer_ensured=True)
            elif plan.action is StartAction.RESUME:
                assert plan.existing is not None
                resumed = provider.resume_payment(plan.existing)
                if resumed is not None:
                    return self._answer(plan, resumed, reused=True, status=plan.status)
                # the customer can no longer act on it: gone (replaced), or paid / being paid
                settled = self._replace(provider, plan)
                if settled is not None:
                    return settled
            elif plan.action is StartAction.REPLACE:
                settled = self._replace(provider, plan)
                if settled is not None:
                    return settled
            elif plan.action is StartAction.LOOK_UP:
                if not self._look_up(provider, plan, expire_missing=True):
                    settled = self._replace(provider, plan)
                    if settled is not None:
                        return settled
            else:
                outcome = self._start(provider, plan)
                if outcome is not None:
                    return outcome

    def resolve(self, payment_id: uuid.UUID) -> Resolution | None:
        """The janitor's: a payment committed without provider ids (its request died) reaches
        the provider's state: found by its id in metadata → its ids are recorded (and it is
        captured if it succeeded); never started → expired. None when it is not to resolve
        (it has ids, is no longer open, or a request is creating it now) or the provider
        could not be asked (the next run tries again)."""
        leased = self._dispatcher().emit(PaymentStartLeaseRequestedEvent(payment_id=payment_id))
        if leased.data is None:
            return None
        provider = self._providers.get(leased.data.provider)
        try:
            found = provider.fetch_payment(leased.data.existing)
        except ApiError as error:
            logger.warning("payment %s left for later: %s", payment_id, error.code)
            self._release(payment_id)
            return None
        resolution = self._report(payment_id, remote=found, source="janitor")
        if resolution == "open":
            self._release(payment_id)  # the provider cannot tell (manual): leave it as it is
        return resolution

    # -- the steps, each between two commands ----------------------------------------------

    def _ensure_customer(self, provider: PaymentProvider, plan: PaymentStartPlan) -> None:
        customer = provider.ensure_customer(plan.user_id, plan.email, None)
        if customer:
            self._dispatcher().emit(
                PaymentCustomerRecordedEvent(
                    user_id=plan.user_id, provider=provider.name, customer_id=customer
                )
            )

    def _start(
        self, provider: PaymentProvider, plan: PaymentStartPlan
    ) -> PaymentStartOutcome | None:
        """Create the payment at the provider (this request holds its start lease); None when
        a lookup found it there instead (the next round resumes, refuses or replaces it)."""
        assert plan.start is not None and plan.payment_id is not None
        self._faults.reached(f"{FLOW}.before_provider_call")
        if not plan.created and self._look_up(provider, plan, expire_missing=False):
            return None
        try:
            started = provider.start_payment(plan.start)
        except ApiError:
            self._release(plan.payment_id)  # the call is over: the next click may try at once
            raise
        self._faults.reached(f"{FLOW}.after_provider_call")
        record = self._dispatcher().emit(
            PaymentStartReportedEvent(payment_id=plan.payment_id, started=started)
        )
        status = record.data.status
        if status is PaymentStatus.PROCESSING:
            raise payment_in_progress()
        if status not in (PaymentStatus.PENDING, PaymentStatus.COMPLETED):
            self._stop_quietly(provider, plan.payment_id, started)
            raise InvalidState(
                f"The payment was {status.value} while it was being started; pay again.",
                code="payment_cancelled",
            )
        self._faults.reached(f"{FLOW}.after_outcome_commit")
        return self._answer(plan, started, reused=not plan.created, status=status)

    def _look_up(
        self, provider: PaymentProvider, plan: PaymentStartPlan, expire_missing: bool
    ) -> bool:
        """Look for a payment without provider ids at the provider, by our id in metadata;
        True when what was found (or, with ``expire_missing``, its absence) was recorded."""
        assert plan.existing is not None and plan.payment_id is not None
        found = provider.fetch_payment(plan.existing)
        if found.status is RemoteStatus.NOT_FOUND and not expire_missing:
            return False
        if found.status is not RemoteStatus.NOT_FOUND and found.payment_intent_id is None:
            return False  # the provider keeps nothing to find (manual)
        self._report(plan.payment_id, remote=found, source=FLOW)
        return True

    def _replace(
        self, provider: PaymentProvider, plan: PaymentStartPlan
    ) -> PaymentStartOutcome | None:
        """Stop the open payment at the provider first, then record it cancelled (None: the
        next round opens the new one), so the invoice is never charged twice.

        When the provider refuses (it already moves or moved the money: a confirmed intent,
        a ``complete`` Checkout Session) no second way to pay is opened, in this mode or
        another: what it says is recorded; a success is captured (as its webhook would) and
        that payment answered (``reused``), anything else is 409 ``payment_in_progress``."""
        assert plan.existing is not None and plan.payment_id is not None
        try:
            stop_at_provider(provider, plan.existing)
        except ApiError as refused:
            if not refused_as_in_progress(refused):
                raise
            if not settle_refused_stop(
                self._dispatcher, provider, plan.payment_id, plan.existing, FLOW
            ):
                raise
            reference = plan.existing.session_id or plan.existing.payment_intent_id
            settled = StartedPayment(provider_payment_id=reference or str(plan.payment_id))
            return self._answer(plan, settled, reused=True, status=PaymentStatus.COMPLETED)
        self._dispatcher().emit(
            PaymentCancellationRecordedEvent(
                payment_id=plan.payment_id, reason="replaced by a new payment"
            )
        )
        return None

    def _report(self, payment_id: uuid.UUID, remote: RemotePayment, source: str) -> Resolution:
        """Record what the provider says of the payment, as the janitor's reports do
        (succeeded → captured, failed, cancelled, never started → expired, ids kept)."""
        event = PaymentResolutionReportedEvent(payment_id=payment_id, remote=remote, source=source)
        return self._dispatcher().emit(event).data

    def _release(self, payment_id: uuid.UUID) -> None:
        try:
            self._dispatcher().emit(PaymentStartReportedEvent(payment_id=payment_id, started=None))
        except (ApiError, SQLAlchemyError):  # the caller's own error matters more; the lease ends
            logger.exception("could not release the start lease of payment %s", payment_id)

    def _stop_quietly(
        self, provider: PaymentProvider, payment_id: uuid.UUID, started: StartedPayment
    ) -> None:
        """A payment cancelled or expired while it was being created: stop what was created
        (nobody has its client secret; a failure here is only logged)."""
        created = ExistingPayment(payment_id, started.payment_intent_id, started.session_id)
        try:
            provider.cancel_payment(created)
        except ApiError as error:
            logger.warning("could not stop payment %s at %s: %s", payment_id, provider.name, error)

    @staticmethod
    def _answer(
        plan: PaymentStartPlan,
        started: StartedPayment,
        reused: bool,
        status: PaymentStatus | None,
    ) -> PaymentStartOutcome:
        assert plan.payment_id is not None
        return PaymentStartOutcome(
            payment_id=plan.payment_id,
            provider=plan.provider,
            provider_payment_id=started.provider_payment_id,
            client_secret=started.client_secret,
            checkout_url=started.checkout_url,
            status=status or PaymentStatus.PENDING,
            reused=reused,
        )
