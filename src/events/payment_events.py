"""Payments: the commands (from webhooks, recovery, admins, users) and the facts they produce."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from src.events.base import Command, Notification
from src.events.payment_results import (
    CaptureOutcome,
    RefundIntent,
    WebhookOutcome,
)
from src.events.payment_start_events import PaymentStartPlan
from src.events.payment_verify_events import VerifyPlan
from src.providers.base import ObservedRefund, PaymentMode


@dataclass(frozen=True, kw_only=True)
class PaymentCapturedEvent(Command[CaptureOutcome]):
    """Command: a payment for ``invoice_id`` was confirmed; activate what it bought.

    ``amount``/``currency`` are what the payer's side says was paid, checked against the
    invoice; ``None`` (the admin path only) settles the invoice in full. A provider webhook
    also passes its event id, stored with the capture so a redelivery changes nothing.
    """

    name = "payment.captured"
    invoice_id: uuid.UUID
    payment_reference: str
    provider: str
    amount: Decimal | None
    currency: str | None
    payload_digest: str | None = None
    recorded_by: uuid.UUID | None = None
    note: str | None = None
    payment_id: uuid.UUID | None = None
    payment_intent_id: str | None = None
    charge_id: str | None = None
    customer_id: str | None = None
    provider_event_id: str | None = None
    provider_event_type: str | None = None


@dataclass(frozen=True, kw_only=True)
class PaymentStartRequestedEvent(Command[PaymentStartPlan]):
    """Command 1 of starting a payment (src/intents/payment_start.py): the invoice's owner
    wants to pay it through ``provider``; answers what to do next, with the intent committed.
    ``customer_ensured``: the provider was already asked for the user's customer."""

    name = "payment.start_requested"
    user_id: uuid.UUID
    invoice_id: uuid.UUID
    provider: str
    mode: PaymentMode = PaymentMode.PAYMENT_INTENT
    customer_ensured: bool = False


@dataclass(frozen=True, kw_only=True)
class PaymentFailureReportedEvent(Command[WebhookOutcome]):
    """Command: a provider says an attempt failed (the invoice stays payable)."""

    name = "payment.failure_reported"
    provider: str
    provider_event_id: str
    provider_event_type: str
    payment_id: uuid.UUID | None
    payment_intent_id: str | None
    failure_code: str | None
    failure_message: str | None


@dataclass(frozen=True, kw_only=True)
class RefundReportedEvent(Command[WebhookOutcome]):
    """Command: a provider says money was refunded (possibly a refund we did not make)."""

    name = "payment.refund_reported"
    provider: str
    provider_event_id: str
    provider_event_type: str
    payment_intent_id: str | None
    charge_id: str | None
    refunded_total: Decimal | None
    refunds: tuple[ObservedRefund, ...] = field(default_factory=tuple)


@dataclass(frozen=True, kw_only=True)
class PaymentVerificationRequestedEvent(Command[VerifyPlan]):
    """Command (reads only): the caller's payment to ask its provider about, with no
    transaction open (src/intents/payment_verify.py); a success is then captured."""

    name = "payment.verification_requested"
    user_id: uuid.UUID
    payment_id: uuid.UUID


@dataclass(frozen=True, kw_only=True)
class RefundRequestedEvent(Command[RefundIntent]):
    """Command: an admin refunds (part of) a payment through its provider. It commits the
    refund as an intent (``requested``) after every check; the provider is called after, with
    no transaction open (src/intents/refund.py). ``idempotency_key`` (the admin's header)
    finds the refund a retry of the same request asked for."""

    name = "payment.refund_requested"
    admin_id: uuid.UUID | None  # None: the ``payment.refund_unapplied`` job
    payment_id: uuid.UUID
    amount: Decimal | None
    force: bool = False
    reason: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class PaymentMethodSetupPlan:
    """Whose card is to be saved, and the provider customer they have (None: none yet)."""

    provider: str
    user_id: uuid.UUID
    email: str
    customer_id: str | None


@dataclass(frozen=True, kw_only=True)
class PaymentMethodSetupRequestedEvent(Command[PaymentMethodSetupPlan]):
    """Command (reads only): the user wants to save a card (for auto-reload's off-session
    charges); src/intents/payment_method.py makes the provider calls after it."""

    name = "payment_method.setup_requested"
    user_id: uuid.UUID
    provider: str


@dataclass(frozen=True, kw_only=True)
class InvoicePaidEvent(Notification):
    name = "invoice.paid"
    invoice_id: uuid.UUID
    user_id: uuid.UUID
    amount: Decimal
    currency: str
    provider: str
    payment_reference: str


@dataclass(frozen=True, kw_only=True)
class SubscriptionActivatedEvent(Notification):
    name = "subscription.activated"
    subscription_id: uuid.UUID
    user_id: uuid.UUID
    expires_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class TokensCreditedEvent(Notification):
    name = "tokens.credited"
    user_id: uuid.UUID
    amount: int
    balance_after: int
    purchase_id: uuid.UUID


@dataclass(frozen=True, kw_only=True)
class AddOnActivatedEvent(Notification):
    name = "addon.activated"
    addon_subscription_id: uuid.UUID
    user_id: uuid.UUID
    expires_at: datetime | None


@dataclass(frozen=True, kw_only=True)
class PaymentFailedEvent(Notification):
    name = "payment.failed"
    payment_id: uuid.UUID
    invoice_id: uuid.UUID | None
    user_id: uuid.UUID | None
    reason: str | None


@dataclass(frozen=True, kw_only=True)
class PaymentRequiresRefundEvent(Notification):
    """Money a provider confirmed could not be applied (``reason``: a stable code); nothing
    was granted. ``auto_refund``: a job refunds it, else it waits for an admin."""

    name = "payment.requires_refund"
    payment_id: uuid.UUID
    invoice_id: uuid.UUID | None
    user_id: uuid.UUID | None
    provider: str
    amount: Decimal
    currency: str
    reason: str
    auto_refund: bool


@dataclass(frozen=True, kw_only=True)
class PaymentRefundedEvent(Notification):
    name = "payment.refunded"
    payment_id: uuid.UUID
    invoice_id: uuid.UUID | None
    amount: Decimal
    currency: str
    full: bool
