"""The user's payment processes (start, cancel an invoice, verify) wired over the fakes, as
src/container.py and src/containers/payment_processes.py wire them over SQL.

Every command runs in ``transactions`` (a fake unit of work that knows whether a transaction
is open), and the scripted provider is checked on every call: a provider call while a
transaction is open fails the test (``provider_calls_in_transaction``).
"""

from collections.abc import Callable
from typing import Any

from src.events.base import IEventHandler
from src.events.dispatcher import EventDispatcher
from src.faults import FaultPoints, NoFaults
from src.handlers.invoice_handlers import CancelInvoiceHandler
from src.handlers.mark_paid_handlers import CheckMarkPaidHandler
from src.handlers.payment_start_handlers import (
    LeaseUnstartedPaymentHandler,
    RecordCustomerHandler,
    RecordPaymentCancellationHandler,
    RecordPaymentStartHandler,
    StartPaymentHandler,
)
from src.handlers.payment_method_handlers import SetupPaymentMethodHandler
from src.handlers.payment_verify_handlers import RecordVerificationHandler, VerifyPaymentHandler
from src.handlers.payment_handlers import PaymentCapturedHandler
from src.handlers.reconcile_handlers import ResolvePaymentHandler
from src.intents.invoice_cancel import InvoiceCancelProcess
from src.intents.mark_paid import MarkPaidProcess
from src.intents.payment_method import PaymentMethodSetupProcess
from src.intents.payment_start import PaymentStartProcess
from src.intents.payment_verify import PaymentVerifyProcess
from src.providers.base import PaymentProviders
from src.services.addon_service import AddOnService
from src.services.capture_service import CaptureService
from src.services.invoice_service import InvoiceService
from src.services.payment_service import PaymentService
from src.services.subscription_service import SubscriptionService
from src.services.token_bundle_service import TokenBundleService
from src.services.user_service import UserService
from tests.unit.fakes import FakePaymentProvider, FakeUnitOfWork

EXPIRY_MINUTES = 30
LEASE_SECONDS = 30


class TrackedUnitOfWork(FakeUnitOfWork):
    """A fake unit of work that knows whether a transaction is open right now."""

    def __init__(self) -> None:
        super().__init__()
        self.open = False

    def __enter__(self) -> "TrackedUnitOfWork":
        super().__enter__()
        self.open = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.open = False
        super().__exit__(*exc_info)


class PaymentProcesses:
    """Mixed into ``Billing``, which provides the repositories and the shared services."""

    provider: FakePaymentProvider
    invoice_service: Callable[[], InvoiceService]
    payment_service: Callable[[], PaymentService]
    user_service: Callable[[], UserService]
    payment_providers: Callable[[], PaymentProviders]
    capture_service: Callable[[], CaptureService]
    payment_captured_handler: Callable[[], PaymentCapturedHandler]
    subscription_service: Callable[[], SubscriptionService]
    token_bundle_service: Callable[[], TokenBundleService]
    add_on_service: Callable[[], AddOnService]

    _transactions: TrackedUnitOfWork | None = None
    _in_transaction_calls: list[str] | None = None

    @property
    def transactions(self) -> TrackedUnitOfWork:
        if self._transactions is None:
            self._transactions = TrackedUnitOfWork()
        return self._transactions

    @property
    def provider_calls_in_transaction(self) -> list[str]:
        """Provider methods called while a command's transaction was open (must stay [])."""
        return list(self._in_transaction_calls or [])

    # -- command handlers, as the container registers them -------------------------------

    def start_payment_handler(self) -> StartPaymentHandler:
        return StartPaymentHandler(
            invoice_service=self.invoice_service(),
            payment_service=self.payment_service(),
            user_service=self.user_service(),
            payment_providers=self.payment_providers(),
            expiry_minutes=EXPIRY_MINUTES,
            lease_seconds=LEASE_SECONDS,
        )

    def cancel_invoice_handler(self) -> CancelInvoiceHandler:
        return CancelInvoiceHandler(
            invoice_service=self.invoice_service(),
            subscription_service=self.subscription_service(),
            token_bundle_service=self.token_bundle_service(),
            add_on_service=self.add_on_service(),
            payment_service=self.payment_service(),
        )

    def process_dispatcher(self) -> EventDispatcher:
        """The dispatcher of every command the processes emit."""
        handlers: dict[str, Callable[[], IEventHandler[Any, Any]]] = {
            "payment.start_requested": self.start_payment_handler,
            "payment.customer_recorded": lambda: RecordCustomerHandler(self.user_service()),
            "payment.start_reported": lambda: RecordPaymentStartHandler(self.payment_service()),
            "payment.cancellation_recorded": lambda: RecordPaymentCancellationHandler(
                self.payment_service()
            ),
            "payment.start_lease_requested": lambda: LeaseUnstartedPaymentHandler(
                self.payment_service(), lease_seconds=LEASE_SECONDS
            ),
            "payment.resolution_reported": lambda: ResolvePaymentHandler(
                self.payment_service(), self.invoice_service(), self.capture_service()
            ),
            "invoice.cancellation_requested": self.cancel_invoice_handler,
            "invoice.mark_paid_checked": lambda: CheckMarkPaidHandler(
                self.invoice_service(), self.payment_service()
            ),
            "payment.captured": self.payment_captured_handler,
            "payment.verification_requested": lambda: VerifyPaymentHandler(self.payment_service()),
            "payment_method.setup_requested": lambda: SetupPaymentMethodHandler(
                self.user_service(), self.payment_providers()
            ),
            "payment.verification_reported": lambda: RecordVerificationHandler(
                self.payment_service(), self.capture_service(), self.invoice_service()
            ),
        }
        self._guard_provider()
        return EventDispatcher(self.transactions.factory, handlers, {})

    def _guard_provider(self) -> None:
        """Record every provider call made while a transaction is open."""
        if self._in_transaction_calls is not None:
            return
        self._in_transaction_calls = []
        calls, transactions, provider = self._in_transaction_calls, self.transactions, self.provider
        original = provider._call

        def guarded(method: str) -> None:
            if transactions.open:
                calls.append(method)
            original(method)

        provider._call = guarded  # type: ignore[method-assign]

    # -- the processes -------------------------------------------------------------------

    def payment_start_process(
        self, faults: FaultPoints | None = None, sleeps: list[float] | None = None
    ) -> PaymentStartProcess:
        """``sleeps`` collects the waits of a request that finds another one starting."""
        slept = sleeps if sleeps is not None else []
        dispatcher = self.process_dispatcher()
        return PaymentStartProcess(
            lambda: dispatcher,
            self.payment_providers(),
            faults or NoFaults(),
            sleep=slept.append,
        )

    def invoice_cancel_process(self) -> InvoiceCancelProcess:
        dispatcher = self.process_dispatcher()
        return InvoiceCancelProcess(lambda: dispatcher, self.payment_providers())

    def mark_paid_process(self) -> MarkPaidProcess:
        dispatcher = self.process_dispatcher()
        return MarkPaidProcess(lambda: dispatcher, self.payment_providers())

    def payment_method_setup_process(self) -> PaymentMethodSetupProcess:
        dispatcher = self.process_dispatcher()
        return PaymentMethodSetupProcess(lambda: dispatcher, self.payment_providers())

    def payment_verify_process(self) -> PaymentVerifyProcess:
        dispatcher = self.process_dispatcher()
        return PaymentVerifyProcess(lambda: dispatcher, self.payment_providers())
