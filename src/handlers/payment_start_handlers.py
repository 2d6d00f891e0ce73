"""payment.start_requested → a pending payment at the provider, or the open one again."""

from datetime import timedelta

from src.clock import utc_now
from src.errors import InvalidState
from src.events.base import EventResult, IEventHandler
from src.events.payment_events import PaymentStartRequestedEvent
from src.events.payment_results import PaymentStartOutcome
from src.models.payment import Payment, PaymentStatus
from src.providers.base import (
    LineForProvider,
    PaymentProvider,
    PaymentProviders,
    PaymentStart,
    StartedPayment,
)
from src.services.invoice_service import InvoiceService
from src.services.payment_service import PaymentService, existing
from src.services.user_service import UserService


class StartPaymentHandler(IEventHandler[PaymentStartRequestedEvent, PaymentStartOutcome]):
    """Pay an invoice through a provider.

    The invoice row is locked for the whole command, provider call included: a double click
    waits, then finds the open payment and gets it back instead of a second one. Only the
    fulfilment path (webhook or recovery check) ever grants anything.
    """

    def __init__(
        self,
        invoice_service: InvoiceService,
        payment_service: PaymentService,
        user_service: UserService,
        payment_providers: PaymentProviders,
        expiry_minutes: int,
    ) -> None:
        self._invoices = invoice_service
        self._payments = payment_service
        self._users = user_service
        self._providers = payment_providers
        self._expiry = timedelta(minutes=expiry_minutes)

    def handle(self, event: PaymentStartRequestedEvent) -> EventResult[PaymentStartOutcome]:
        provider = self._providers.get(event.provider)
        invoice = self._invoices.get_payable_for_user(event.invoice_id, event.user_id)

        open_payment = self._payments.find_open(invoice.id, provider.name)
        if open_payment is not None and open_payment.status is PaymentStatus.PROCESSING:
            raise InvalidState(
                "A payment of this invoice is being processed; wait for its outcome.",
                code="payment_in_progress",
            )
        if open_payment is not None:
            if open_payment.method == event.mode.value:
                resumed = provider.resume_payment(existing(open_payment))
                if resumed is not None:
                    return EventResult(self._answer(provider, open_payment, resumed, reused=True))
            self._close(provider, open_payment)

        user = self._users.get_locked(event.user_id)
        customer = provider.ensure_customer(
            user.id, user.email, self._users.customer_id(user, provider.name)
        )
        if customer:
            self._users.remember_customer(user.id, provider.name, customer)
        payment = self._payments.open(
            invoice, provider.name, event.mode.value, expires_at=utc_now() + self._expiry
        )
        started = provider.start_payment(
            PaymentStart(
                payment_id=payment.id,
                invoice_id=invoice.id,
                invoice_number=invoice.number,
                user_id=user.id,
                amount=invoice.total_amount,
                currency=invoice.currency,
                mode=event.mode,
                customer_id=customer,
                lines=tuple(
                    LineForProvider(line.description, line.quantity, line.unit_price)
                    for line in invoice.line_items
                ),
            )
        )
        self._payments.attach(payment, started)
        return EventResult(self._answer(provider, payment, started, reused=False))

    def _close(self, provider: PaymentProvider, payment: Payment) -> None:
        """Another mode was asked for, or the provider can no longer finish this one: stop it
        at the provider first, so the invoice can never be charged twice."""
        provider.cancel_payment(existing(payment))
        self._payments.move(payment, PaymentStatus.CANCELLED, "replaced by a new payment")

    @staticmethod
    def _answer(
        provider: PaymentProvider, payment: Payment, started: StartedPayment, reused: bool
    ) -> PaymentStartOutcome:
        return PaymentStartOutcome(
            payment_id=payment.id,
            provider=provider.name,
            provider_payment_id=started.provider_payment_id,
            client_secret=started.client_secret,
            checkout_url=started.checkout_url,
            status=payment.status,
            reused=reused,
        )
