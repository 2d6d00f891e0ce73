"""The admin refund as a provider intent: the commands around the one provider call.

``payment.refund_requested`` (src/events/payment_events.py) commits the intent; these resume
it, record what the provider said, defer a retry or release the attempt when it could not be
reached, and list the intents the janitor resolves. Whoever calls the provider for a refund
holds its attempt lease (``PaymentRefund.attempt_lease_until``), taken by the committing
command; recording the outcome, a deferred retry or a release ends it.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from src.events.base import Command
from src.events.payment_results import RefundIntent, RefundOutcome


@dataclass(frozen=True, kw_only=True)
class RefundResumeRequestedEvent(Command[RefundIntent]):
    """Command: what a committed refund needs to be asked for again (a job, the janitor), with
    its attempt lease taken; or its outcome when it already has one; or ``busy`` when another
    attempt holds the lease (nobody is to call the provider now)."""

    name = "refund.resume_requested"
    refund_id: uuid.UUID


@dataclass(frozen=True, kw_only=True)
class RefundOutcomeReportedEvent(Command[RefundOutcome]):
    """Command: the provider refunded (``provider_refund_id``, None for a provider that keeps
    no record) or refused (``failure_message``); recorded once, whoever reports it first."""

    name = "refund.outcome_reported"
    refund_id: uuid.UUID
    provider_refund_id: str | None
    failure_message: str | None = None


@dataclass(frozen=True, kw_only=True)
class RefundRetryRequestedEvent(Command[bool]):
    """Command: the provider could not be reached; the attempt lease ends and the
    ``refund.execute`` job that asks again is deferred (False when one is already waiting)."""

    name = "refund.retry_requested"
    refund_id: uuid.UUID


@dataclass(frozen=True, kw_only=True)
class RefundAttemptReleasedEvent(Command[bool]):
    """Command: the provider did not answer a resumed refund (the job retries itself); its
    attempt lease ends so the retry may call at once (False when it was not held)."""

    name = "refund.attempt_released"
    refund_id: uuid.UUID


@dataclass(frozen=True, kw_only=True)
class RequestedRefundsListedEvent(Command[list[uuid.UUID]]):
    """Command (reads only): refunds still ``requested`` that were asked for before
    ``created_before``, oldest first: what the janitor hands to ``RefundProcess.resolve``."""

    name = "refunds.requested_listed"
    created_before: datetime
    limit: int = 100
