"""The admin refund as a provider intent (POST /admin/payments/<id>/refund, the
``refund.execute`` job and the janitor run it).

1. commit the intent: every check, then a ``requested`` refund (or, for a retry under the
   same Idempotency-Key, find the one committed before);
2. call the provider with no transaction open, the refund's id as idempotency key and as
   metadata; a refund that may have reached the provider before (a retry, a job, the janitor)
   is first looked for there, since Stripe forgets keys after 24 hours and localstripe
   ignores them;
3. record the outcome: refunded (and, when that completes the payment, the grants taken back)
   or refused. When the provider cannot be reached the refund stays ``requested`` and a job
   asks again. A crash anywhere leaves a refund that a retry, the job or the janitor takes to
   exactly one refund at the provider.

Two attempts at the same moment (an admin retry while the job or the janitor runs, two
janitors) are kept apart by the refund's attempt lease, not by the idempotency key: the
command that hands the refund over for a call takes it, and an attempt that finds it held
calls nobody (the admin gets the refund ``requested``, a job or the janitor
``RefundInProgress`` and tries again later). A holder that dies leaves it to run out.
"""

import logging
import uuid

from sqlalchemy.exc import SQLAlchemyError

from src.errors import ApiError, InvalidState, ProviderError, ServiceUnavailable
from src.events.payment_events import RefundRequestedEvent
from src.events.payment_results import RefundIntent, RefundOutcome
from src.events.refund_events import (
    RefundAttemptReleasedEvent,
    RefundOutcomeReportedEvent,
    RefundResumeRequestedEvent,
    RefundRetryRequestedEvent,
)
from src.intents.base import ProviderProcess
from src.providers.base import ProviderDeclined, ProviderRefund, ProviderRefused
from src.providers.manual import refunding_provider
from src.services.unapplied_payment_service import unapplied_refund_key

logger = logging.getLogger(__name__)
FLOW = "refund"


class ProviderUnreachable(Exception):
    """Internal: the provider did not answer (network, 5xx, 409, 429); the refund waits."""


class RefundInProgress(ServiceUnavailable):
    """Another attempt holds the refund's attempt lease (it may be asking the provider right
    now): nothing was called. A 503, so the job engine retries it and the janitor leaves the
    refund for its next run."""

    code = "refund_in_progress"

    def __init__(self) -> None:
        super().__init__("This refund is being asked for at the provider; try again later.")


class RefundProcess(ProviderProcess):
    def request(self, command: RefundRequestedEvent) -> RefundOutcome:
        """The admin's refund. ``succeeded`` when the provider answered at once; ``requested``
        when it could not be reached (the ``refund.execute`` job finishes it); ``failed`` when
        it refused. A replay answers the refund's outcome, or resumes it if it has none, or,
        while another attempt is asking the provider for it, answers it ``requested``."""
        intent = self._dispatcher().emit(command).data
        if intent.settled is not None:
            return intent.settled
        if intent.busy:
            return intent.pending
        try:
            return self._execute(intent)
        except ProviderUnreachable:
            self._dispatcher().emit(RefundRetryRequestedEvent(refund_id=intent.refund_id))
            return intent.pending

    def refund_unapplied(self, payment_id: uuid.UUID) -> RefundOutcome | None:
        """The ``payment.refund_unapplied`` job: the full refund of money the invoice could
        not take (``requires_refund``), under one idempotency key per payment, so a retry of
        the job resumes the same refund. ``None`` when it is no longer refundable (an admin
        refunded it meanwhile)."""
        command = RefundRequestedEvent(
            admin_id=None,
            payment_id=payment_id,
            amount=None,
            reason="payment could not be applied to its invoice",
            idempotency_key=unapplied_refund_key(payment_id),
        )
        try:
            return self.request(command)
        except InvalidState as error:
            if error.code != "payment_not_refundable":
                raise
            logger.info("unapplied payment %s: nothing left to refund", payment_id)
            return None

    def resolve(self, refund_id: uuid.UUID) -> RefundOutcome:
        """Take a refund still ``requested`` to the provider's real state: found there →
        its outcome recorded; not found → asked for again under the same key. For the
        ``refund.execute`` job and the janitor; a settled refund is answered as it is.

        Raises ``ProviderError`` when the provider cannot be reached (the refund stays
        ``requested``; the job's retries or the next janitor run try again), and
        ``RefundInProgress`` when another attempt holds the refund (nothing is called)."""
        intent = self._dispatcher().emit(RefundResumeRequestedEvent(refund_id=refund_id)).data
        if intent.settled is not None:
            return intent.settled
        if intent.busy:
            raise RefundInProgress()
        try:
            return self._execute(intent)
        except ProviderUnreachable as unreachable:
            self._release(refund_id)
            raise ProviderError(
                "The payment provider could not be reached; the refund is still requested."
            ) from unreachable.__cause__

    def _release(self, refund_id: uuid.UUID) -> None:
        try:
            self._dispatcher().emit(RefundAttemptReleasedEvent(refund_id=refund_id))
        except (ApiError, SQLAlchemyError):  # the caller's own error matters more; the lease ends
            logger.exception("could not release the attempt lease of refund %s", refund_id)

    def _execute(self, intent: RefundIntent) -> RefundOutcome:
        provider = refunding_provider(self._providers, intent.provider)
        self._faults.reached(f"{FLOW}.before_provider_call")
        made: ProviderRefund | None = None
        refused: str | None = None
        try:
            if intent.resumed:
                made = provider.find_refund(intent.existing, intent.refund_id)
            if made is None:
                made = provider.refund(intent.existing, intent.amount, intent.refund_id)
        except (ProviderDeclined, ProviderRefused) as error:
            refused = error.message
        except (ProviderError, ServiceUnavailable) as error:
            logger.warning("refund %s: the provider did not answer (%s)", intent.refund_id, error)
            raise ProviderUnreachable() from error
        self._faults.reached(f"{FLOW}.after_provider_call")

        outcome = self._dispatcher().emit(
            RefundOutcomeReportedEvent(
                refund_id=intent.refund_id,
                provider_refund_id=made.refund_id if made else None,
                failure_message=refused or (made.failure_message if made else None),
            )
        )
        self._faults.reached(f"{FLOW}.after_outcome_commit")
        logger.info("refund %s: %s", intent.refund_id, outcome.data.status)
        return outcome.data
