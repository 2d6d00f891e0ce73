"""A scripted payment provider: it records every call and answers what the test set up."""

import uuid
from collections.abc import Mapping
from decimal import Decimal

from src.providers.base import (
    ExistingPayment,
    PaymentMode,
    PaymentProvider,
    PaymentStart,
    ProviderEvent,
    ProviderRefund,
    RemotePayment,
    RemoteStatus,
    StartedPayment,
)


class FakePaymentProvider(PaymentProvider):
    """Named "stripe" because that is the provider that keeps customers (see UserService).

    Script it through its attributes: ``customer`` (what ensure_customer creates),
    ``resumable`` (resume_payment answers the payment again, else None), ``remote`` (what
    fetch_payment sees), ``refund_id``, ``event`` (what parse_webhook returns),
    ``saved_method`` (the customer's saved card, for off-session charges),
    ``failures`` (method name → exception raised after the call is recorded) and
    ``lost_refund_answer`` (raised after a refund was made: the answer never arrived).
    Refunds made are kept by our refund id (``made_refunds``), as Stripe keeps the metadata
    ``find_refund`` matches.
    """

    name = "stripe"

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.failures: dict[str, Exception] = {}
        self.customer: str | None = "cus_new"
        self.resumable = True
        self.remote = RemotePayment(RemoteStatus.PENDING)
        self.refund_id: str | None = "re_1"
        self.event: ProviderEvent | None = None
        self.saved_method: str | None = None
        self.customer_requests: list[tuple[uuid.UUID, str, str | None]] = []
        self.starts: list[PaymentStart] = []
        self.resumed: list[ExistingPayment] = []
        self.cancelled: list[ExistingPayment] = []
        self.fetched: list[ExistingPayment] = []
        self.refunds: list[tuple[ExistingPayment, Decimal, uuid.UUID]] = []
        self.made_refunds: dict[uuid.UUID, ProviderRefund] = {}
        self.lost_refund_answer: Exception | None = None
        self.refund_lookups: list[uuid.UUID] = []

    def ensure_customer(self, user_id: uuid.UUID, email: str, known_id: str | None) -> str | None:
        self._call("ensure_customer")
        self.customer_requests.append((user_id, email, known_id))
        return known_id or self.customer

    def start_payment(self, start: PaymentStart) -> StartedPayment:
        self._call("start_payment")
        self.starts.append(start)
        number = len(self.starts)
        if start.mode is PaymentMode.CHECKOUT:
            return StartedPayment(
                provider_payment_id=f"cs_{number}",
                session_id=f"cs_{number}",
                checkout_url=f"https://pay.example/cs_{number}",
            )
        return StartedPayment(
            provider_payment_id=f"pi_{number}",
            payment_intent_id=f"pi_{number}",
            client_secret=f"pi_{number}_secret",
        )

    def resume_payment(self, existing: ExistingPayment) -> StartedPayment | None:
        self._call("resume_payment")
        self.resumed.append(existing)
        if not self.resumable:
            return None
        reference = existing.payment_intent_id or existing.session_id or str(existing.payment_id)
        return StartedPayment(
            provider_payment_id=reference,
            payment_intent_id=existing.payment_intent_id,
            session_id=existing.session_id,
            client_secret=f"{reference}_secret",
        )

    def saved_payment_method(self, customer_id: str | None) -> str | None:
        self._call("saved_payment_method")
        return self.saved_method if customer_id else None

    def start_saving_method(self, customer_id: str | None) -> str:
        self._call("start_saving_method")
        return f"seti_{customer_id}_secret"

    def cancel_payment(self, existing: ExistingPayment) -> None:
        self._call("cancel_payment")
        self.cancelled.append(existing)

    def parse_webhook(self, payload: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        self._call("parse_webhook")
        if self.event is None:
            raise AssertionError("FakePaymentProvider.event was not scripted")
        return self.event

    def fetch_payment(self, existing: ExistingPayment) -> RemotePayment:
        self._call("fetch_payment")
        self.fetched.append(existing)
        return self.remote

    def refund(
        self, existing: ExistingPayment, amount: Decimal, refund_id: uuid.UUID
    ) -> ProviderRefund:
        self._call("refund")
        self.refunds.append((existing, amount, refund_id))
        made = ProviderRefund(refund_id=self.refund_id, amount=amount)
        self.made_refunds[refund_id] = made
        if self.lost_refund_answer is not None:
            raise self.lost_refund_answer
        return made

    def find_refund(self, existing: ExistingPayment, refund_id: uuid.UUID) -> ProviderRefund | None:
        self._call("find_refund")
        self.refund_lookups.append(refund_id)
        return self.made_refunds.get(refund_id)

    def _call(self, method: str) -> None:
        self.calls.append(method)
        failure = self.failures.get(method)
        if failure is not None:
            raise failure
