"""Expiry and the janitor wired over the fakes (as src/container.py wires them over SQL)."""

from collections.abc import Callable
from typing import Any

from src.events.base import IEventHandler
from src.events.dispatcher import EventDispatcher
from src.faults import NoFaults
from src.handlers.reconcile_handlers import ListOpenPaymentsHandler, ResolvePaymentHandler
from src.handlers.refund_handlers import ListRequestedRefundsHandler
from src.intents.reconcile import ExpiryProcess, JanitorProcess, PaymentResolver
from src.services.refund_service import RefundService
from tests.unit.builders import Billing
from tests.unit.fakes import FakeUnitOfWork
from tests.unit.refund_builders import RefundDesk

JANITOR_AFTER_MINUTES = 5


def _dispatcher(billing: Billing) -> EventDispatcher:
    handlers: dict[str, Callable[[], IEventHandler[Any, Any]]] = {
        "payments.open_listed": lambda: ListOpenPaymentsHandler(billing.payment_service()),
        "payment.resolution_reported": lambda: ResolvePaymentHandler(
            billing.payment_service(), billing.invoice_service(), billing.capture_service()
        ),
        "refunds.requested_listed": lambda: ListRequestedRefundsHandler(
            RefundService(billing.payments)
        ),
    }
    return EventDispatcher(FakeUnitOfWork().factory, handlers, {})


def _resolver(billing: Billing, dispatcher: EventDispatcher) -> PaymentResolver:
    return PaymentResolver(lambda: dispatcher, billing.payment_providers(), NoFaults())


def expiry_process(billing: Billing) -> ExpiryProcess:
    dispatcher = _dispatcher(billing)
    return ExpiryProcess(lambda: dispatcher, _resolver(billing, dispatcher))


def janitor_process(billing: Billing) -> JanitorProcess:
    dispatcher = _dispatcher(billing)
    return JanitorProcess(
        lambda: dispatcher,
        _resolver(billing, dispatcher),
        RefundDesk(billing).process,
        JANITOR_AFTER_MINUTES,
    )
