"""What the pay-per-use and auto-reload commands answer."""

import uuid
from dataclasses import dataclass
from typing import Literal

from src.models.auto_reload import AutoReloadSetting
from src.models.token_ledger import TokenTransactionType
from src.models.token_usage import UsageSource, UsageStatus

# started: charged, waiting for the provider; succeeded: paid and credited already.
AutoReloadStatus = Literal["started", "succeeded", "skipped", "failed"]


@dataclass(frozen=True)
class UsageCharge:
    usage_id: uuid.UUID
    balance: int
    source: UsageSource
    charged_tokens: int


@dataclass(frozen=True)
class ConsumeOutcome:
    """``replayed``: the reference was charged before; this is that first charge again."""

    usage: UsageCharge
    replayed: bool


@dataclass(frozen=True)
class UsageRefundOutcome:
    usage_id: uuid.UUID
    status: UsageStatus
    balance: int
    trial_remaining: int


@dataclass(frozen=True)
class TokenAdjustment:
    user_id: uuid.UUID
    transaction_id: uuid.UUID
    transaction_type: TokenTransactionType
    amount: int
    balance: int


@dataclass(frozen=True)
class AutoReloadSettings:
    """The user-facing part of the settings row, without the in-flight bookkeeping."""

    enabled: bool
    threshold: int
    bundle_id: uuid.UUID
    failure_count: int
    disabled_reason: str | None

    @classmethod
    def of(cls, setting: AutoReloadSetting) -> "AutoReloadSettings":
        return cls(
            enabled=setting.enabled,
            threshold=setting.threshold,
            bundle_id=setting.bundle_id,
            failure_count=setting.failure_count,
            disabled_reason=setting.disabled_reason,
        )


@dataclass(frozen=True)
class AutoReloadAttempt:
    """A refused card is an outcome (``failed`` with its reason), not an error."""

    status: AutoReloadStatus
    reason: str | None = None
    invoice_id: uuid.UUID | None = None
