"""The provider-neutral contract: start a payment, read a webhook, check a payment, refund.

Handlers and services speak only these types. A new provider is a new ``PaymentProvider``
registered in the container: no handler, service or route changes (webhooks arrive at
``/webhooks/<provider name>``).
"""

import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from src.errors import ApiError, NotFound, ProviderError


class PaymentMode(StrEnum):
    PAYMENT_INTENT = "payment_intent"
    CHECKOUT = "checkout"


@dataclass(frozen=True)
class LineForProvider:
    description: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class PaymentStart:
    """What the core asks a provider to collect."""

    payment_id: uuid.UUID
    invoice_id: uuid.UUID
    invoice_number: str
    user_id: uuid.UUID
    amount: Decimal
    currency: str
    mode: PaymentMode = PaymentMode.PAYMENT_INTENT
    customer_id: str | None = None
    lines: tuple[LineForProvider, ...] = ()
    # Off-session charge of a saved payment method (auto-reload): confirmed at once.
    saved_payment_method: str | None = None


@dataclass(frozen=True)
class StartedPayment:
    provider_payment_id: str
    payment_intent_id: str | None = None
    session_id: str | None = None
    client_secret: str | None = None
    checkout_url: str | None = None
    # Where the provider says the payment stands right after starting it (an off-session
    # charge confirms at once): None when it only waits for the customer.
    remote: "RemotePayment | None" = None


class ProviderEventKind(StrEnum):
    PAYMENT_SUCCEEDED = "payment_succeeded"
    PAYMENT_FAILED = "payment_failed"
    REFUNDED = "refunded"
    DISPUTE_OPENED = "dispute_opened"
    DISPUTE_CLOSED = "dispute_closed"
    IGNORED = "ignored"


@dataclass(frozen=True)
class ObservedRefund:
    """A refund a provider reports; ``intent_id`` is our refund's id when we made it (from
    the metadata we sent), so a report that overtakes our own record is not counted twice."""

    refund_id: str
    amount: Decimal
    intent_id: uuid.UUID | None = None


@dataclass(frozen=True)
class ProviderEvent:
    """A verified provider webhook, translated. Ids come from the metadata we sent."""

    provider: str
    event_id: str
    event_type: str
    kind: ProviderEventKind
    invoice_id: uuid.UUID | None = None
    payment_id: uuid.UUID | None = None
    payment_intent_id: str | None = None
    session_id: str | None = None
    charge_id: str | None = None
    customer_id: str | None = None
    payment_method_id: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    refunded_total: Decimal | None = None
    refunds: tuple[ObservedRefund, ...] = field(default_factory=tuple)
    # A chargeback: the provider's dispute id and, once closed, its outcome ("won", "lost").
    dispute_id: str | None = None
    dispute_status: str | None = None

    @property
    def payment_reference(self) -> str | None:
        """The reference an invoice is settled by: the payment intent, else the session."""
        return self.payment_intent_id or self.session_id


class RemoteStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    # The provider has no payment for this intent: it was never started (the request died
    # between committing the intent and calling the provider).
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class RemotePayment:
    """A payment as the provider sees it now (the recovery path asks for this)."""

    status: RemoteStatus
    amount: Decimal | None = None
    currency: str | None = None
    payment_intent_id: str | None = None
    charge_id: str | None = None
    failure_message: str | None = None


@dataclass(frozen=True)
class ProviderRefund:
    """A refund the provider made (or found). ``failure_message`` is set when the provider
    holds it as failed or cancelled: the money did not go back."""

    refund_id: str | None
    amount: Decimal
    failure_message: str | None = None


@dataclass(frozen=True)
class ExistingPayment:
    """What a provider needs to find a payment it started before."""

    payment_id: uuid.UUID
    payment_intent_id: str | None
    session_id: str | None


class ProviderDeclined(ApiError):
    """The provider refused to take the money (a declined card); nothing was charged."""

    status_code = 402
    code = "payment_declined"


class ProviderRefused(ProviderError):
    """The provider refused the request itself (a 4xx other than 409 and 429): the same call
    gets the same answer, so an intent is closed as failed instead of being retried."""


class PaymentProvider(ABC):
    name: ClassVar[str]

    @abstractmethod
    def ensure_customer(self, user_id: uuid.UUID, email: str, known_id: str | None) -> str | None:
        """The provider's customer for this user (created once); None if it has none."""

    @abstractmethod
    def start_payment(self, start: PaymentStart) -> StartedPayment:
        """Begin collecting ``start.amount``; raises ``ProviderDeclined`` or ``ProviderError``."""

    @abstractmethod
    def resume_payment(self, existing: ExistingPayment) -> StartedPayment | None:
        """What the client needs to finish an open payment; None if it can no longer finish."""

    @abstractmethod
    def saved_payment_method(self, customer_id: str | None) -> str | None:
        """The customer's card for off-session charges (auto-reload), if one is saved."""

    @abstractmethod
    def start_saving_method(self, customer_id: str | None) -> str:
        """A client secret with which the frontend saves a card for later off-session use."""

    @abstractmethod
    def cancel_payment(self, existing: ExistingPayment) -> None:
        """Make an open payment impossible to complete (so it can never charge twice)."""

    @abstractmethod
    def parse_webhook(self, payload: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        """Verify the signature over the raw bytes, then translate; 400 if it does not verify."""

    @abstractmethod
    def fetch_payment(self, existing: ExistingPayment) -> RemotePayment:
        """Ask the provider for the payment's current state (webhook lost? recover here).

        Without provider ids the payment is looked up by the intent id sent as metadata
        (``payment_id``): ``NOT_FOUND`` means the provider never started it."""

    @abstractmethod
    def refund(
        self, existing: ExistingPayment, amount: Decimal, refund_id: uuid.UUID
    ) -> ProviderRefund:
        """Give ``amount`` back for our refund ``refund_id``: it is the idempotency key
        (``refund-<id>``) and travels as metadata, so ``find_refund`` can find it again.
        Raises ``ProviderRefused`` when the provider refuses, ``ProviderError`` otherwise."""

    @abstractmethod
    def find_refund(self, existing: ExistingPayment, refund_id: uuid.UUID) -> ProviderRefund | None:
        """The refund made at the provider for our refund ``refund_id``, None if there is none.

        Asked before calling ``refund`` again for an intent: providers forget idempotency keys
        (Stripe after 24 hours; localstripe ignores them), so this, not the key, is what keeps
        a retry from refunding twice."""

    def list_refunds(
        self, payment_intent_id: str | None, charge_id: str | None
    ) -> "RefundList | None":
        """Every refund the provider holds for a payment, read from its API (a webhook's own
        copy may be missing or stale); None when the provider has no such API."""
        return None


@dataclass(frozen=True)
class RefundList:
    """A payment's refunds as the provider holds them: the ones that gave money back."""

    refunds: tuple[ObservedRefund, ...]

    @property
    def total(self) -> Decimal:
        return sum((refund.amount for refund in self.refunds), Decimal("0.00"))


class PaymentProviders:
    """The registry the container builds: provider name → provider."""

    def __init__(self, providers: Mapping[str, PaymentProvider]) -> None:
        self._providers = dict(providers)

    def get(self, name: str) -> PaymentProvider:
        provider = self._providers.get(name)
        if provider is None:
            raise NotFound("provider", f"No payment provider named {name!r}.")
        return provider

    def find(self, name: str) -> PaymentProvider | None:
        """The provider, or None for a name with no adapter (the generic webhook's payments:
        money that moved outside any provider API)."""
        return self._providers.get(name)

    def names(self) -> list[str]:
        return sorted(self._providers)
