"""Payment webhook payloads and capture answers."""

import uuid
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, field_validator

from src.schemas.common import MoneyIn, RequestModel, ResponseModel

CaptureStatus = Literal["success", "already_paid"]
# Provider names the generic webhook may not claim: they have paths of their own.
RESERVED_PROVIDERS = frozenset({"manual", "stripe"})


@dataclass(frozen=True)
class CaptureOutcome:
    status: CaptureStatus
    invoice_id: uuid.UUID
    items_activated: int


class CaptureResponse(ResponseModel):
    status: CaptureStatus
    invoice_id: uuid.UUID
    items_activated: int


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
