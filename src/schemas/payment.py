"""Payment webhook payloads, capture answers and the provider payment flows' answers."""

import uuid
from datetime import datetime

from pydantic import AliasChoices, Field, field_validator

from src.events.payment_results import (
    CaptureOutcome,
    CaptureStatus,
    PaymentMethodSetupOutcome,
    PaymentStartOutcome,
    RefundOutcome,
    VerifyOutcome,
    WebhookStatus,
)
from src.models.payment import Payment, PaymentStatus, RefundStatus
from src.providers.base import PaymentMode
from src.schemas.common import (
    BodyBool,
    KeysetCursor,
    MoneyIn,
    MoneyOut,
    Page,
    RequestModel,
    ResponseModel,
)

# Provider names the generic webhook may not claim: they have paths of their own.
RESERVED_PROVIDERS = frozenset({"manual", "stripe"})


class CaptureResponse(ResponseModel):
    """``requires_refund``: the money arrived but the invoice could not take it (``reason``:
    ``invoice_already_paid``, ``invoice_not_payable``, ``amount_mismatch``, an activation
    rule's code); nothing was granted and the payment (``payment_id``) is to be refunded."""

    status: CaptureStatus
    invoice_id: uuid.UUID
    items_activated: int
    reason: str | None = None
    message: str | None = None
    payment_id: uuid.UUID | None = None

    @classmethod
    def from_result(cls, outcome: CaptureOutcome) -> "CaptureResponse":
        return cls(
            status=outcome.status,
            invoice_id=outcome.invoice_id,
            items_activated=outcome.items_activated,
            reason=outcome.reason,
            message=outcome.message,
            payment_id=outcome.payment_id,
        )


class PaymentWebhookPayload(RequestModel):
    """The generic webhook's body (read only after its signature has been verified)."""

    invoice_id: uuid.UUID
    payment_reference: str = Field(min_length=1, max_length=255)
    amount: MoneyIn
    currency: str = Field(pattern=r"^[A-Za-z]{3}$")
    provider: str = Field(default="webhook", pattern=r"^[a-z0-9_-]{1,32}$")

    @field_validator("currency")
    @classmethod
    def upper_case_currency(cls, value: str) -> str:
        return value.upper()

    @field_validator("provider")
    @classmethod
    def not_reserved(cls, value: str) -> str:
        if value in RESERVED_PROVIDERS:
            raise ValueError(f"provider {value!r} has its own path and cannot use this webhook")
        return value


class MarkPaidRequest(RequestModel):
    payment_reference: str = Field(min_length=1, max_length=255)
    note: str | None = Field(default=None, max_length=1000)
    force: BodyBool = Field(
        default=False,
        description=(
            "With an open provider payment of the invoice: cancel it at the provider first "
            "and mark the invoice paid (without: 409 payment_in_progress)."
        ),
    )


class WebhookAck(ResponseModel):
    """What a provider webhook is answered (2xx: the provider stops redelivering)."""

    status: WebhookStatus
    event_id: str


class PayInvoiceRequest(RequestModel):
    provider: str = Field(default="stripe", pattern=r"^[a-z0-9_-]{1,32}$")
    mode: PaymentMode = PaymentMode.PAYMENT_INTENT


class PaymentStarted(ResponseModel):
    payment_id: uuid.UUID
    provider: str
    provider_payment_id: str | None
    client_secret: str | None = None
    checkout_url: str | None = None
    status: PaymentStatus
    reused: bool = False

    @classmethod
    def from_result(cls, outcome: PaymentStartOutcome) -> "PaymentStarted":
        return cls(
            payment_id=outcome.payment_id,
            provider=outcome.provider,
            provider_payment_id=outcome.provider_payment_id,
            client_secret=outcome.client_secret,
            checkout_url=outcome.checkout_url,
            status=outcome.status,
            reused=outcome.reused,
        )


class PaymentOut(ResponseModel):
    id: uuid.UUID
    invoice_id: uuid.UUID | None
    provider: str
    provider_payment_id: str | None = Field(
        validation_alias=AliasChoices("provider_reference", "provider_payment_id")
    )
    status: PaymentStatus
    amount: MoneyOut
    refunded_amount: MoneyOut
    currency: str
    error_code: str | None
    error_message: str | None
    created_at: datetime
    completed_at: datetime | None

    @classmethod
    def of(cls, payment: Payment) -> "PaymentOut":
        return cls.model_validate(payment)


class StatusChangeOut(ResponseModel):
    from_status: str | None
    to_status: str
    reason: str | None
    provider_event_id: str | None
    created_at: datetime


class RefundOut(ResponseModel):
    id: uuid.UUID
    amount: MoneyOut
    currency: str
    provider_refund_id: str | None
    reason: str | None
    created_by: uuid.UUID | None
    tokens_reversed: int
    tokens_shortfall: int
    created_at: datetime
    status: RefundStatus
    failure_message: str | None


class AdminPaymentOut(PaymentOut):
    """A payment with its whole audit trail."""

    user_id: uuid.UUID | None
    method: str | None
    provider_payment_intent_id: str | None
    provider_session_id: str | None
    provider_charge_id: str | None
    payload_digest: str | None
    recorded_by: uuid.UUID | None
    note: str | None
    history: list[StatusChangeOut]
    refunds: list[RefundOut]


class PaymentPage(Page[PaymentOut]):
    """A page of payment attempts, newest first."""


class AdminPaymentSummaryOut(PaymentOut):
    """A payment in the admin list (``error_code``: why it requires a refund); its history
    is at ``GET /admin/payments/<id>``."""

    user_id: uuid.UUID | None
    provider_payment_intent_id: str | None
    provider_charge_id: str | None


class AdminPaymentPage(Page[AdminPaymentSummaryOut]):
    """A page of every user's payments, newest first (``?status=requires_refund``: money
    confirmed that no invoice took, to refund)."""


class PaymentListQuery(RequestModel):
    limit: int = Field(default=20, ge=1, le=100)
    cursor: KeysetCursor = None
    status: PaymentStatus | None = None


class VerifyPaymentRequest(RequestModel):
    payment_id: uuid.UUID


class VerifyPaymentResponse(ResponseModel):
    """``captured`` is true when this check (not an earlier webhook) settled the invoice."""

    payment_id: uuid.UUID
    payment_status: PaymentStatus
    invoice_status: str
    captured: bool

    @classmethod
    def from_result(cls, outcome: VerifyOutcome) -> "VerifyPaymentResponse":
        return cls(
            payment_id=outcome.payment_id,
            payment_status=outcome.payment_status,
            invoice_status=outcome.invoice_status,
            captured=outcome.captured,
        )


class CurrencyAmount(ResponseModel):
    currency: str
    total_spent: MoneyOut


class PaymentStatsOut(ResponseModel):
    total_spent: MoneyOut
    currency: str | None
    completed_payments: int
    failed_payments: int
    total_tokens_purchased: int
    other_currencies: list[CurrencyAmount]


class RefundRequest(RequestModel):
    amount: MoneyIn | None = None
    force: BodyBool = False
    reason: str | None = Field(default=None, max_length=500)


class RefundResponse(ResponseModel):
    """``status`` is the refund's: ``succeeded`` (201) or ``requested`` (202: the provider is
    asked again by a job; the payment and the grants change when it answers)."""

    payment_id: uuid.UUID
    refund_id: uuid.UUID
    status: RefundStatus
    amount: MoneyOut
    currency: str
    payment_status: PaymentStatus
    refunded_amount: MoneyOut
    invoice_status: str
    tokens_reversed: int
    tokens_shortfall: int

    @classmethod
    def from_result(cls, outcome: RefundOutcome) -> "RefundResponse":
        return cls(
            payment_id=outcome.payment_id,
            refund_id=outcome.refund_id,
            status=outcome.status,
            amount=outcome.amount,
            currency=outcome.currency,
            payment_status=outcome.payment_status,
            refunded_amount=outcome.refunded_amount,
            invoice_status=outcome.invoice_status,
            tokens_reversed=outcome.tokens_reversed,
            tokens_shortfall=outcome.tokens_shortfall,
        )


class PaymentMethodSetupRequest(RequestModel):
    provider: str = Field(default="stripe", pattern=r"^[a-z0-9_-]{1,32}$")


class PaymentMethodSetup(ResponseModel):
    """Confirm ``client_secret`` with Stripe.js (a SetupIntent) to save the card."""

    provider: str
    client_secret: str
    customer_id: str | None

    @classmethod
    def from_result(cls, outcome: PaymentMethodSetupOutcome) -> "PaymentMethodSetup":
        return cls(
            provider=outcome.provider,
            client_secret=outcome.client_secret,
            customer_id=outcome.customer_id,
        )
