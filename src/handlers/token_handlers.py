"""Spending, refunding a use, admin adjustments, and auto-reload settings."""

from collections.abc import Callable

from src.errors import ValidationFailed
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
from src.events.token_results import (
    AutoReloadSettings,
    ConsumeOutcome,
    TokenAdjustment,
    UsageCharge,
    UsageRefundOutcome,
)
from src.models.token_usage import UsageSource
from src.jobs.names import AUTO_RELOAD_TASK
from src.services.auto_reload_service import AutoReloadService
from src.services.ports import JobQueuePort
from src.services.token_service import TokenService
from src.services.usage_fast_path import UsageFastPath
from src.services.usage_service import UsageService
from src.services.user_service import UserService


class ConsumeTokensHandler(IEventHandler[TokensConsumeRequestedEvent, ConsumeOutcome]):
    """A use is charged; a balance left under the auto-reload threshold defers the reload as a
    job in the same transaction, so the answer never waits for the provider, a rolled-back use
    leaves no reload behind, and a committed one leaves exactly one (one waiting per user).

    With a ``fast_path`` (the SQL wiring), the common use is one statement that also reads the
    threshold; the rest, and the unit tests' fakes, go through ``UsageService.consume``. The
    services of that full path come as factories, built only when a use takes it: their graph
    was most of the cost of making this handler, which every consume pays.
    """

    def __init__(
        self,
        usage_service: Callable[[], UsageService],
        auto_reload_service: Callable[[], AutoReloadService],
        job_queue: JobQueuePort,
        fast_path: UsageFastPath | None = None,
    ):
        self._usages = usage_service
        self._reloads = auto_reload_service
        self._jobs = job_queue
        self._fast_path = fast_path

    def handle(self, event: TokensConsumeRequestedEvent) -> EventResult[ConsumeOutcome]:
        if self._fast_path is not None:
            fast = self._fast_path.try_charge(
                event.user_id, event.amount, event.reference, event.description, event.api_key_id
            )
            threshold = fast.reload_threshold
            if fast.charge is not None:
                return self._charged(event, fast.charge, threshold)
        else:
            # Read before the charge: the balance row stays locked from the charge to the
            # commit, so nothing that can wait should run after it.
            threshold = self._reloads().threshold(event.user_id)
        result = self._usages().consume(
            event.user_id, event.amount, event.reference, event.description, event.api_key_id
        )
        usage = result.usage
        charge = UsageCharge(
            usage_id=usage.id,
            balance=usage.balance_after,
            source=usage.source,
            charged_tokens=usage.charged_tokens,
        )
        if result.replayed:
            return EventResult(ConsumeOutcome(charge, replayed=True))
        return self._charged(event, charge, threshold)

    def _charged(
        self, event: TokensConsumeRequestedEvent, charge: UsageCharge, threshold: int | None
    ) -> EventResult[ConsumeOutcome]:
        notifications: list[Notification] = [
            TokensConsumedEvent(
                user_id=event.user_id,
                usage_id=charge.usage_id,
                source=charge.source.value,
                charged_tokens=charge.charged_tokens,
                balance=charge.balance,
            )
        ]
        if (
            charge.source is UsageSource.TOKENS
            and threshold is not None
            and charge.balance < threshold
        ):
            self._jobs.enqueue(
                AUTO_RELOAD_TASK,
                queueing_lock=f"auto-reload:{event.user_id}",
                user_id=event.user_id,
            )
            notifications.append(
                AutoReloadNeededEvent(user_id=event.user_id, balance=charge.balance)
            )
        return EventResult(ConsumeOutcome(charge, replayed=False), tuple(notifications))


class RefundUsageHandler(IEventHandler[UsageRefundRequestedEvent, UsageRefundOutcome]):
    def __init__(
        self, usage_service: UsageService, token_service: TokenService, user_service: UserService
    ) -> None:
        self._usages = usage_service
        self._tokens = token_service
        self._users = user_service

    def handle(self, event: UsageRefundRequestedEvent) -> EventResult[UsageRefundOutcome]:
        usage = self._usages.refund(
            event.user_id,
            event.usage_id,
            event.reason,
            api_key_id=event.api_key_id,
            admin_id=event.admin_id,
        )
        balance = self._tokens.get_balance(event.user_id).balance
        trial = self._users.get(event.user_id).trial_remaining
        refunded = UsageRefundedEvent(user_id=event.user_id, usage_id=usage.id, balance=balance)
        outcome = UsageRefundOutcome(
            usage_id=usage.id, status=usage.status, balance=balance, trial_remaining=trial
        )
        return EventResult(outcome, (refunded,))


class AdjustTokensHandler(IEventHandler[TokenAdjustmentRequestedEvent, TokenAdjustment]):
    def __init__(self, token_service: TokenService, user_service: UserService) -> None:
        self._tokens = token_service
        self._users = user_service

    def handle(self, event: TokenAdjustmentRequestedEvent) -> EventResult[TokenAdjustment]:
        self._users.get(event.user_id)
        if event.amount == 0:
            raise ValidationFailed("An adjustment must not be zero.", code="zero_adjustment")
        entry = self._tokens.adjust(event.user_id, event.amount, event.reason, event.admin_id)
        return EventResult(
            TokenAdjustment(
                user_id=event.user_id,
                transaction_id=entry.id,
                transaction_type=entry.transaction_type,
                amount=entry.amount,
                balance=entry.balance_after,
            )
        )


class ConfigureAutoReloadHandler(
    IEventHandler[AutoReloadConfigurationRequestedEvent, AutoReloadSettings]
):
    def __init__(self, auto_reload_service: AutoReloadService) -> None:
        self._reloads = auto_reload_service

    def handle(
        self, event: AutoReloadConfigurationRequestedEvent
    ) -> EventResult[AutoReloadSettings]:
        setting = self._reloads.configure(
            event.user_id, event.enabled, event.threshold, event.bundle_id
        )
        return EventResult(AutoReloadSettings.of(setting))
