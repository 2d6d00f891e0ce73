"""Spending, refunding a use, admin adjustments, and auto-reload settings."""

from src.errors import NotFound, ValidationFailed
from src.events.base import EventResult, IEventHandler, Notification
from src.events.token_events import (
    AutoReloadConfigurationRequestedEvent,
    AutoReloadNeededEvent,
    TokenAdjustmentRequestedEvent,
    TokensConsumedEvent,
    TokensConsumeRequestedEvent,
    UsageRefundedEvent,
    UsageRefundRequestedEvent,
)
from src.models.auto_reload import AutoReloadSetting
from src.models.token_usage import UsageSource
from src.schemas.usage import (
    AdjustTokensResponse,
    AutoReloadOut,
    ConsumeOutcome,
    ConsumeResponse,
    UsageRefundResponse,
)
from src.services.auto_reload_service import AutoReloadService
from src.services.token_service import TokenService
from src.services.usage_service import UsageService
from src.services.user_service import UserService


class ConsumeTokensHandler(IEventHandler[TokensConsumeRequestedEvent, ConsumeOutcome]):
    def __init__(self, usage_service: UsageService, auto_reload_service: AutoReloadService):
        self._usages = usage_service
        self._reloads = auto_reload_service

    def handle(self, event: TokensConsumeRequestedEvent) -> EventResult[ConsumeOutcome]:
        # Read before the charge: the balance row stays locked from the charge to the commit,
        # so nothing that can wait should run after it.
        threshold = self._reloads.threshold(event.user_id)
        result = self._usages.consume(
            event.user_id, event.amount, event.reference, event.description, event.api_key_id
        )
        usage = result.usage
        response = ConsumeResponse(
            usage_id=usage.id,
            balance=usage.balance_after,
            source=usage.source,
            charged_tokens=usage.charged_tokens,
        )
        if result.replayed:
            return EventResult(ConsumeOutcome(response, replayed=True))
        notifications: list[Notification] = [
            TokensConsumedEvent(
                user_id=event.user_id,
                usage_id=usage.id,
                source=usage.source.value,
                charged_tokens=usage.charged_tokens,
                balance=usage.balance_after,
            )
        ]
        if (
            usage.source is UsageSource.TOKENS
            and threshold is not None
            and usage.balance_after < threshold
        ):
            notifications.append(
                AutoReloadNeededEvent(user_id=event.user_id, balance=usage.balance_after)
            )
        return EventResult(ConsumeOutcome(response, replayed=False), tuple(notifications))


class RefundUsageHandler(IEventHandler[UsageRefundRequestedEvent, UsageRefundResponse]):
    def __init__(
        self, usage_service: UsageService, token_service: TokenService, user_service: UserService
    ) -> None:
        self._usages = usage_service
        self._tokens = token_service
        self._users = user_service

    def handle(self, event: UsageRefundRequestedEvent) -> EventResult[UsageRefundResponse]:
        usage = self._usages.refund(event.user_id, event.usage_id, event.reason)
        balance = self._tokens.get_balance(event.user_id).balance
        trial = self._users.get(event.user_id).trial_remaining
        refunded = UsageRefundedEvent(user_id=event.user_id, usage_id=usage.id, balance=balance)
        response = UsageRefundResponse(
            usage_id=usage.id, status=usage.status, balance=balance, trial_remaining=trial
        )
        return EventResult(response, (refunded,))


class AdjustTokensHandler(IEventHandler[TokenAdjustmentRequestedEvent, AdjustTokensResponse]):
    def __init__(self, token_service: TokenService, user_service: UserService) -> None:
        self._tokens = token_service
        self._users = user_service

    def handle(self, event: TokenAdjustmentRequestedEvent) -> EventResult[AdjustTokensResponse]:
        self._users.get(event.user_id)
        if event.amount == 0:
            raise ValidationFailed("An adjustment must not be zero.", code="zero_adjustment")
        entry = self._tokens.adjust(event.user_id, event.amount, event.reason, event.admin_id)
        return EventResult(
            AdjustTokensResponse(
                user_id=event.user_id,
                transaction_id=entry.id,
                type=entry.transaction_type.value,
                amount=entry.amount,
                balance=entry.balance_after,
            )
        )


class ConfigureAutoReloadHandler(
    IEventHandler[AutoReloadConfigurationRequestedEvent, AutoReloadOut]
):
    def __init__(self, auto_reload_service: AutoReloadService) -> None:
        self._reloads = auto_reload_service

    def handle(self, event: AutoReloadConfigurationRequestedEvent) -> EventResult[AutoReloadOut]:
        setting = self._reloads.configure(
            event.user_id, event.enabled, event.threshold, event.bundle_id
        )
        return EventResult(auto_reload_out(setting))


def auto_reload_out(setting: AutoReloadSetting | None) -> AutoReloadOut:
    if setting is None:
        raise NotFound("auto_reload", "Auto-reload is not configured.")
    return AutoReloadOut(
        enabled=setting.enabled,
        threshold=setting.threshold,
        bundle_id=setting.bundle_id,
        failure_count=setting.failure_count,
        disabled_reason=setting.disabled_reason,
    )
