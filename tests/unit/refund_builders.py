"""The refund process over the fakes, wired as src/container.py and src/containers/refunds.py
wire it over SQL: a dispatcher of its commands, each run in a fake unit of work, with the
notifications it publishes kept for the test."""

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from src.events.base import IEventHandler, IEventListener, Notification
from src.events.dispatcher import ALL_NOTIFICATIONS, EventDispatcher
from src.events.payment_events import RefundRequestedEvent
from src.events.payment_results import RefundOutcome
from src.faults import FaultPoints, InjectedFault, NoFaults
from src.handlers.refund_handlers import (
    ListRequestedRefundsHandler,
    RecordRefundOutcomeHandler,
    ReleaseRefundAttemptHandler,
    RequestRefundHandler,
    ResumeRefundHandler,
    ScheduleRefundRetryHandler,
)
from src.intents.refund import RefundProcess
from src.services.refund_service import RefundService
from tests.unit.builders import Billing
from tests.unit.fakes import FakeUnitOfWork
from tests.unit.payment_flows import ADMIN

# The attempt lease (PROVIDER_LEASE_SECONDS in the app).
LEASE_SECONDS = 30


class ArmedFault:
    """Fault points that raise ``InjectedFault`` at ``point`` (once, unless ``always``)."""

    def __init__(self, point: str, always: bool = False) -> None:
        self.point = point
        self.always = always
        self.reached_points: list[str] = []
        self.fired = 0

    def reached(self, point: str) -> None:
        self.reached_points.append(point)
        if point == self.point and (self.always or self.fired == 0):
            self.fired += 1
            raise InjectedFault(point)


class _Published(IEventListener):
    def __init__(self, into: list[Notification]) -> None:
        self._into = into

    def notify(self, event: Notification) -> None:
        self._into.append(event)


class RefundDesk:
    """``process`` runs the admin refund over ``billing``'s fakes and its scripted provider."""

    def __init__(self, billing: Billing, faults: FaultPoints | None = None) -> None:
        self.billing = billing
        self.unit_of_work = FakeUnitOfWork()
        self.published: list[Notification] = []

        def refunds() -> RefundService:
            return RefundService(billing.payments)

        handlers: dict[str, Callable[[], IEventHandler[Any, Any]]] = {
            "payment.refund_requested": lambda: RequestRefundHandler(
                billing.payment_service(),
                refunds(),
                billing.invoice_service(),
                billing.grant_reversal_service(),
                LEASE_SECONDS,
            ),
            "refund.resume_requested": lambda: ResumeRefundHandler(
                billing.payment_service(), refunds(), billing.invoice_service(), LEASE_SECONDS
            ),
            "refund.outcome_reported": lambda: RecordRefundOutcomeHandler(
                billing.payment_service(),
                refunds(),
                billing.invoice_service(),
                billing.grant_reversal_service(),
            ),
            "refund.retry_requested": lambda: ScheduleRefundRetryHandler(
                refunds(), billing.job_queue
            ),
            "refund.attempt_released": lambda: ReleaseRefundAttemptHandler(refunds()),
            "refunds.requested_listed": lambda: ListRequestedRefundsHandler(refunds()),
        }
        listeners = {ALL_NOTIFICATIONS: [lambda: _Published(self.published)]}
        self.dispatcher = EventDispatcher(self.unit_of_work.factory, handlers, listeners)
        self.process = RefundProcess(
            lambda: self.dispatcher, billing.payment_providers(), faults or NoFaults()
        )

    def refund(
        self,
        payment_id: uuid.UUID,
        amount: str | None = None,
        force: bool = False,
        key: str | None = None,
    ) -> RefundOutcome:
        """ADMIN refunds ``amount`` (None: all that is left), with an Idempotency-Key."""
        return self.process.request(
            RefundRequestedEvent(
                admin_id=ADMIN,
                payment_id=payment_id,
                amount=None if amount is None else Decimal(amount),
                force=force,
                reason="asked",
                idempotency_key=key,
            )
        )


def refund(
    billing: Billing, payment_id: uuid.UUID, amount: str | None, force: bool = False
) -> RefundOutcome:
    """ADMIN refunds ``amount`` (None: all that is left) through the refund process."""
    return RefundDesk(billing).refund(payment_id, amount, force)
