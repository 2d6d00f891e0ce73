"""What the payment commands answer (routes render these; the domain never sees HTTP)."""

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from src.models.payment import PaymentStatus, RefundStatus
from src.providers.base import ExistingPayment

CaptureStatus = Literal["success", "already_paid", "already_processed", "requires_refund"]
WebhookStatus = Literal[
    "success", "already_paid", "already_processed", "recorded", "ignored", "requires_refund"
]


@dataclass(frozen=True)
class CaptureOutcome:
    """``requires_refund``: the provider confirmed money the invoice could not take;
    ``reason`` is the stable code, ``message`` says that nothing was granted."""

    status: CaptureStatus
    invoice_id: uuid.UUID
    items_activated: int
    reason: str | None = None
    message: str | None = None
    payment_id: uuid.UUID | None = None


@dataclass(frozen=True)
class WebhookOutcome:
    """How a provider's report was taken; any of these is acknowledged to the provider."""

    status: WebhookStatus
    event_id: str


@dataclass(frozen=True)
class PaymentStartOutcome:
    """``reused``: the open payment was handed back instead of a new one (a double click)."""

    payment_id: uuid.UUID
    provider: str
    provider_payment_id: str | None
    client_secret: str | None
    checkout_url: str | None
    status: PaymentStatus
    reused: bool


@dataclass(frozen=True)
class PaymentMethodSetupOutcome:
    provider: str
    client_secret: str
    customer_id: str | None


@dataclass(frozen=True)
class VerifyOutcome:
    """``captured``: this check, not an earlier webhook, settled the invoice."""

    payment_id: uuid.UUID
    payment_status: PaymentStatus
    invoice_status: str
    captured: bool


@dataclass(frozen=True)
class RefundOutcome:
    """Both amounts are in ``currency``; ``refunded_amount`` is the payment's running total.
    ``status`` is the refund's: ``requested`` while the provider's answer is awaited (a job
    finishes it), ``failed`` with ``failure_message`` when the provider refused."""

    payment_id: uuid.UUID
    refund_id: uuid.UUID
    amount: Decimal
    currency: str
    payment_status: PaymentStatus
    refunded_amount: Decimal
    invoice_status: str
    tokens_reversed: int
    tokens_shortfall: int
    status: RefundStatus = RefundStatus.SUCCEEDED
    failure_message: str | None = None


@dataclass(frozen=True)
class RefundIntent:
    """A committed refund to ask the provider for: ``refund_id`` is the idempotency key and
    the metadata it is found by. ``resumed``: it may have reached the provider before (a
    retry, the janitor), so it is looked for there first. ``settled``: it already has an
    outcome (a replay), nothing is to call. ``pending`` is the answer while it waits.
    ``busy``: another attempt holds the refund's attempt lease (it may be asking the provider
    right now), so this one calls nobody."""

    refund_id: uuid.UUID
    provider: str
    existing: ExistingPayment
    amount: Decimal
    pending: RefundOutcome
    resumed: bool = False
    settled: RefundOutcome | None = None
    busy: bool = False
