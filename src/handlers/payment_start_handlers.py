"""Starting a payment in commands around the provider calls (src/intents/payment_start.py runs
them, with no transaction open during a call): plan and commit the intent, record the
customer, record what the provider started, record a cancellation; and the janitor's lease.

Nothing here calls a provider. Locks are taken in capture's order: the invoice, then the
payment.
"""

from datetime import timedelta

from src.clock import utc_now
from src.errors import InvalidState
from src.events.base import EventResult, IEventHandler
from src.events.payment_events import PaymentStartRequestedEvent
from src.events.payment_start_events import (
    PaymentCancellationRecordedEvent,
    PaymentCustomerRecordedEvent,
    PaymentStartLeaseRequestedEvent,
    PaymentStartPlan,
    PaymentStartRecord,
    PaymentStartReportedEvent,
    StartAction,
    UnstartedPayment,
)
from src.models.payment import OPEN_PAYMENT_STATUSES, Payment, PaymentStatus
from src.models.user import User
from src.providers.base import PaymentProviders, PaymentStart
from src.services.invoice_service import InvoiceService
from src.services.payment_service import PaymentService, existing
from src.services.payment_starts import payment_start
from src.services.user_service import UserService


def payment_in_progress() -> InvalidState:
    return InvalidState(
        "A payment of this invoice is being processed; wait for its outcome.",
        code="payment_in_progress",
    )


class StartPaymentHandler(IEventHandler[PaymentStartRequestedEvent, PaymentStartPlan]):
    """Command 1: decide, under the invoice's row lock, what the process does next.

    The lock makes a double click wait for the first click's commit and then find its
    payment; from there the start lease (``Payment.start_lease_until``) says who may call the
    provider to create it: the request that committed it, or, once that lease ran out (its
    holder is gone), the next one, which looks for it at the provider first. A payment in the
    provider's hands (PROCESSING) is never replaced: 409 ``payment_in_progress``.
    """

    def __init__(
        self,
        invoice_service: InvoiceService,
        payment_service: PaymentService,
        user_service: UserService,
        payment_providers: PaymentProviders,
        expiry_minutes: int,
        lease_seconds: int,
    ) -> None:
        self._invoices = invoice_service
        self._payments = payment_service
        self._users = user_service
        self._providers = payment_providers
        self._expiry = timedelta(minutes=expiry_minutes)
        self._lease = timedelta(seconds=lease_seconds)

    def handle(self, event: PaymentStartRequestedEvent) -> EventResult[PaymentStartPlan]:
        provider = self._providers.get(event.provider)
        invoice = self._invoices.get_payable_for_user(event.invoice_id, event.user_id)
        user = self._users.get(event.user_id)
        customer = self._users.customer_id(user, provider.name)
        now = utc_now()
        open_payment = self._payments.find_open(invoice.id, provider.name)
        if open_payment is not None:
            if open_payment.status is PaymentStatus.PROCESSING:
                raise payment_in_progress()
            same_mode = open_payment.method == event.mode.value
            if open_payment.provider_reference is not None:
                action = StartAction.RESUME if same_mode else StartAction.REPLACE
                return EventResult(self._plan(action, user, open_payment))
            payment = self._payments.get_locked(open_payment.id)
            if self._payments.start_leased(payment, now):
                return EventResult(self._plan(StartAction.WAIT, user, payment))
            self._payments.lease_start(payment, now + self._lease)
            if not same_mode:
                return EventResult(self._plan(StartAction.LOOK_UP, user, payment))
            start = payment_start(payment.id, invoice, customer, mode=event.mode)
            return EventResult(self._plan(StartAction.START, user, payment, start))
        if customer is None and not event.customer_ensured:
            return EventResult(
                PaymentStartPlan(StartAction.CUSTOMER, user.id, user.email, provider.name)
            )
        payment = self._payments.open(
            invoice, provider.name, event.mode.value, expires_at=now + self._expiry
        )
        self._payments.lease_start(payment, now + self._lease)
        start = payment_start(payment.id, invoice, customer, mode=event.mode)
        return EventResult(self._plan(StartAction.START, user, payment, start, created=True))

    @staticmethod
    def _plan(
        action: StartAction,
        user: User,
        payment: Payment,
        start: PaymentStart | None = None,
        created: bool = False,
    ) -> PaymentStartPlan:
        return PaymentStartPlan(
            action=action,
            user_id=user.id,
            email=user.email,
            provider=payment.provider,
            payment_id=payment.id,
            status=payment.status,
            existing=existing(payment),
            start=start,
            created=created,
        )


class RecordCustomerHandler(IEventHandler[PaymentCustomerRecordedEvent, str]):
    """The customer the provider created is saved on the user, under the user's row lock; if
    a racing request saved one first, that one is kept and answered."""

    def __init__(self, user_service: UserService) -> None:
        self._users = user_service

    def handle(self, event: PaymentCustomerRecordedEvent) -> EventResult[str]:
        user = self._users.get_locked(event.user_id)
        known = self._users.customer_id(user, event.provider)
        if known:
            return EventResult(known)
        self._users.remember_customer(user.id, event.provider, event.customer_id)
        return EventResult(event.customer_id)


class RecordPaymentStartHandler(IEventHandler[PaymentStartReportedEvent, PaymentStartRecord]):
    """Command 2: the provider's ids are recorded (the first ones kept) and the start lease
    ends, whatever became of the payment meanwhile: a payment cancelled or expired while the
    provider was being called keeps its ids, and the process stops it there."""

    def __init__(self, payment_service: PaymentService) -> None:
        self._payments = payment_service

    def handle(self, event: PaymentStartReportedEvent) -> EventResult[PaymentStartRecord]:
        payment = self._payments.get_locked(event.payment_id)
        if event.started is None:
            self._payments.release_start(payment)
        else:
            self._payments.attach(payment, event.started)
        return EventResult(PaymentStartRecord(payment.id, payment.status))


class RecordPaymentCancellationHandler(
    IEventHandler[PaymentCancellationRecordedEvent, PaymentStatus]
):
    """The provider cancelled the payment: it is CANCELLED here too, if it is still open."""

    def __init__(self, payment_service: PaymentService) -> None:
        self._payments = payment_service

    def handle(self, event: PaymentCancellationRecordedEvent) -> EventResult[PaymentStatus]:
        payment = self._payments.get_locked(event.payment_id)
        if payment.status in OPEN_PAYMENT_STATUSES:
            self._payments.move(payment, PaymentStatus.CANCELLED, event.reason)
        return EventResult(payment.status)


class LeaseUnstartedPaymentHandler(
    IEventHandler[PaymentStartLeaseRequestedEvent, UnstartedPayment | None]
):
    """The janitor leases a payment committed without provider ids before looking it up, so
    it never decides "never started" while a request is creating it at the provider."""

    def __init__(self, payment_service: PaymentService, lease_seconds: int) -> None:
        self._payments = payment_service
        self._lease = timedelta(seconds=lease_seconds)

    def handle(
        self, event: PaymentStartLeaseRequestedEvent
    ) -> EventResult[UnstartedPayment | None]:
        payment = self._payments.get_locked(event.payment_id)
        now = utc_now()
        if (
            payment.status is not PaymentStatus.PENDING
            or payment.provider_reference is not None
            or self._payments.start_leased(payment, now)
        ):
            return EventResult(None)
        self._payments.lease_start(payment, now + self._lease)
        return EventResult(UnstartedPayment(payment.id, payment.provider, existing(payment)))
