"""Resolving payments from the provider's own state: expiry and the janitor.

Both list what to look at in one command, ask the provider with no transaction open, and
report each answer in a command of its own (ResolvePaymentHandler). Expiry asks first and
never expires what the provider took: succeeded → captured; still open → stopped at the
provider, then expired; unreachable → left for the next run. The janitor (Kill Bill's) does
the same without expiring: every intent older than its window that still has no outcome (a
lost commit, a killed worker, a lost webhook) reaches the provider's real state; payment
intents committed but never started (no PaymentIntent has their id) close as expired. Both are
safe to run concurrently with themselves, webhooks and verify: every report locks the payment
and changes nothing once it is no longer open, and capture is exactly-once.
"""

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from src.errors import ApiError
from src.events.dispatcher import EventDispatcher
from src.events.reconcile_events import (
    OpenPayment,
    OpenPaymentsListedEvent,
    PaymentResolutionReportedEvent,
    Resolution,
)
from src.events.refund_events import RequestedRefundsListedEvent
from src.intents.base import ProviderProcess
from src.intents.refund import RefundProcess
from src.models.payment import PaymentStatus
from src.providers.base import RemoteStatus

logger = logging.getLogger(__name__)

JANITOR_STATUSES = (PaymentStatus.PENDING, PaymentStatus.PROCESSING)


class PaymentResolver(ProviderProcess):
    """One payment: ask the provider, stop it there when it must expire, report the answer."""

    def resolve(self, payment: OpenPayment, *, expire: bool, source: str) -> Resolution | None:
        """The resolution recorded, or None when the provider could not be asked (later)."""
        provider = self._providers.get(payment.provider)
        stopped = False
        try:
            remote = provider.fetch_payment(payment.existing)
            if expire and remote.status is RemoteStatus.PENDING:
                provider.cancel_payment(payment.existing)
                stopped = True
        except ApiError as error:
            # Unreachable, or already in the provider's hands (payment_in_progress): try again
            # on a later run rather than guess.
            logger.warning(
                "%s: payment %s left for later: %s", source, payment.payment_id, error.code
            )
            return None
        self._faults.reached(f"{source}.after_provider_call")
        resolution = (
            self._dispatcher()
            .emit(
                PaymentResolutionReportedEvent(
                    payment_id=payment.payment_id,
                    remote=remote,
                    stopped_at_provider=stopped,
                    source=source,
                )
            )
            .data
        )
        return resolution


class ExpiryProcess:
    """``payments.expire``: pending payments older than the session expiry."""

    def __init__(
        self, dispatcher_factory: Callable[[], EventDispatcher], resolver: PaymentResolver
    ) -> None:
        self._dispatcher = dispatcher_factory
        self._resolver = resolver

    def run(self, as_of: datetime, older_than_minutes: int) -> int:
        """How many payments expired (captured ones are not counted: they were paid)."""
        stale = self._dispatcher().emit(
            OpenPaymentsListedEvent(
                created_before=as_of - timedelta(minutes=older_than_minutes),
                statuses=(PaymentStatus.PENDING,),
            )
        )
        outcomes = [self._resolver.resolve(p, expire=True, source="expiry") for p in stale.data]
        return outcomes.count("expired")


class JanitorProcess:
    """``payments.janitor``: payment and refund intents older than ``after_minutes`` without
    an outcome. Payments: as above. Refunds still ``requested``: found at the provider by their
    id in metadata and recorded, or asked for again under the same key (RefundProcess)."""

    def __init__(
        self,
        dispatcher_factory: Callable[[], EventDispatcher],
        resolver: PaymentResolver,
        refund_process: RefundProcess,
        after_minutes: int,
    ) -> None:
        self._dispatcher = dispatcher_factory
        self._resolver = resolver
        self._refunds = refund_process
        self._after = timedelta(minutes=after_minutes)

    def run(self, as_of: datetime) -> dict[str, int]:
        """How many intents reached each resolution (``open``: still waiting at the provider;
        ``refund_<status>`` for refunds)."""
        before = as_of - self._after
        stuck = self._dispatcher().emit(
            OpenPaymentsListedEvent(created_before=before, statuses=JANITOR_STATUSES)
        )
        resolved: Counter[str] = Counter()
        for payment in stuck.data:
            resolution = self._resolver.resolve(payment, expire=False, source="janitor")
            resolved[resolution or "unreachable"] += 1
        requested = self._dispatcher().emit(RequestedRefundsListedEvent(created_before=before))
        for refund_id in requested.data:
            try:
                outcome = self._refunds.resolve(refund_id)
            except ApiError as error:
                logger.warning("janitor: refund %s left for later: %s", refund_id, error.code)
                resolved["refund_unreachable"] += 1
                continue
            resolved[f"refund_{outcome.status}"] += 1
        return dict(resolved)
