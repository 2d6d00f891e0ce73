"""Pay-per-use: spending, refunding a use, admin adjustments, auto-reload."""

import uuid
from dataclasses import dataclass

from src.events.base import Command, Notification
from src.events.token_results import (
    AutoReloadSettings,
    ConsumeOutcome,
    TokenAdjustment,
    UsageRefundOutcome,
)


@dataclass(frozen=True, kw_only=True)
class TokensConsumeRequestedEvent(Command[ConsumeOutcome]):
    """Command: charge one use (by the user, or by a trusted backend acting for the user)."""

    name = "tokens.consume_requested"
    user_id: uuid.UUID
    amount: int
    reference: str
    description: str | None = None
    api_key_id: uuid.UUID | None = None


@dataclass(frozen=True, kw_only=True)
class UsageRefundRequestedEvent(Command[UsageRefundOutcome]):
    """Asked by the principal that charged the use (``api_key_id``) or by an admin
    (``admin_id``); anyone else gets 403 ``forbidden``."""

    name = "tokens.usage_refund_requested"
    user_id: uuid.UUID
    usage_id: uuid.UUID
    reason: str | None = None
    api_key_id: uuid.UUID | None = None
    admin_id: uuid.UUID | None = None


@dataclass(frozen=True, kw_only=True)
class TokenAdjustmentRequestedEvent(Command[TokenAdjustment]):
    name = "tokens.adjustment_requested"
    admin_id: uuid.UUID
    user_id: uuid.UUID
    amount: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class AutoReloadConfigurationRequestedEvent(Command[AutoReloadSettings]):
    name = "auto_reload.configuration_requested"
    user_id: uuid.UUID
    enabled: bool
    threshold: int
    bundle_id: uuid.UUID


@dataclass(frozen=True, kw_only=True)
class AutoReloadPaymentFailedEvent(Command[bool]):
    """Command: a payment failed after it started; if it was the user's in-flight reload, count
    the failure and cancel its invoice (answers whether it was one)."""

    name = "auto_reload.payment_failed"
    user_id: uuid.UUID
    invoice_id: uuid.UUID
    reason: str | None


@dataclass(frozen=True, kw_only=True)
class TokensConsumedEvent(Notification):
    name = "tokens.consumed"
    user_id: uuid.UUID
    usage_id: uuid.UUID
    source: str
    charged_tokens: int
    balance: int


@dataclass(frozen=True, kw_only=True)
class AutoReloadNeededEvent(Notification):
    """The balance fell under the user's auto-reload threshold (published after commit)."""

    name = "auto_reload.needed"
    user_id: uuid.UUID
    balance: int


@dataclass(frozen=True, kw_only=True)
class UsageRefundedEvent(Notification):
    name = "tokens.usage_refunded"
    user_id: uuid.UUID
    usage_id: uuid.UUID
    balance: int
