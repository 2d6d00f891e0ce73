"""The renewal process (the ``subscriptions.renew`` row of the schedule, and run-due): every
subscription whose period ended is renewed or ended, and every due dunning retry charged, as
of one instant. Each subscription's step is its own command and its charge its own process,
so one failure (a provider outage, a lock) leaves the others done; the next run picks up
what is left, and a retried step finds its earlier work (one invoice, one payment)."""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from src.errors import ApiError
from src.events.dispatcher import EventDispatcher
from src.events.subscription_events import (
    DueSubscriptionsListedEvent,
    SubscriptionRenewalRequestedEvent,
    SubscriptionRetryRequestedEvent,
)
from src.events.base import Command
from src.events.subscription_results import LifecycleStep
from src.intents.subscription_charge import SubscriptionChargeProcess

logger = logging.getLogger(__name__)


@dataclass
class RenewalRun:
    """What one run did, by outcome (``renewed``, ``canceled``, ``paid``, ``failed``, ...)."""

    counts: dict[str, int] = field(default_factory=dict)
    errors: int = 0

    def count(self, outcome: str) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1


class RenewalProcess:
    def __init__(
        self,
        dispatcher_factory: Callable[[], EventDispatcher],
        charge_process: SubscriptionChargeProcess,
    ) -> None:
        self._dispatcher = dispatcher_factory
        self._charge = charge_process

    def run(self, as_of: datetime) -> RenewalRun:
        due = self._dispatcher().emit(DueSubscriptionsListedEvent(as_of=as_of)).data
        run = RenewalRun()
        steps: list[tuple[str, Command[Any]]] = [
            ("renewal", SubscriptionRenewalRequestedEvent(subscription_id=sid, as_of=as_of))
            for sid in due.renewals
        ] + [
            ("retry", SubscriptionRetryRequestedEvent(subscription_id=sid, as_of=as_of))
            for sid in due.retries
        ]
        for kind, command in steps:
            try:
                step: LifecycleStep = self._dispatcher().emit(command).data
                if step.action == "charge" and step.invoice_id is not None:
                    run.count(self._charge.run(step.invoice_id, as_of).outcome)
                else:
                    run.count(step.action)
            except ApiError as error:
                run.errors += 1
                logger.warning("subscription %s step failed: %s", kind, error.code)
        return run
