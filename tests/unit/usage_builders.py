"""Pay-per-use wired over the fakes (as src/container.py wires it over SQL), and its rows."""

import uuid
from collections.abc import Callable
from typing import Any

from src.events.base import EventResult, IEventHandler
from src.events.dispatcher import EventDispatcher
from src.events.token_events import TokensConsumeRequestedEvent, UsageRefundRequestedEvent
from src.events.token_results import AutoReloadAttempt, ConsumeOutcome, UsageRefundOutcome
from src.faults import NoFaults
from src.handlers.auto_reload_handlers import (
    OpenAutoReloadHandler,
    PlanAutoReloadHandler,
    RecordAutoReloadOutcomeHandler,
)
from src.intents.auto_reload import AutoReloadProcess
from src.handlers.token_handlers import (
    AdjustTokensHandler,
    ConfigureAutoReloadHandler,
    ConsumeTokensHandler,
    RefundUsageHandler,
)
from src.models.auto_reload import AutoReloadSetting
from src.models.plan import Plan
from src.models.subscription import Subscription, SubscriptionStatus
from src.models.token_bundle import TokenBundle
from src.models.token_ledger import TokenTransactionType
from src.providers.base import PaymentProviders
from src.services.api_key_service import ApiKeyService
from src.services.auto_reload_service import AutoReloadService
from src.services.capture_service import CaptureService
from src.services.entitlement_service import EntitlementService
from src.services.invoice_service import InvoiceService
from src.services.payment_service import PaymentService
from src.services.token_bundle_service import TokenBundleService
from src.services.token_service import LedgerReference, TokenService
from src.services.usage_service import UsageService
from src.services.user_service import UserService
from tests.unit.fakes import (
    FakeUnitOfWork,
    FakeApiKeyRepository,
    FakeAutoReloadRepository,
    FakeJobQueue,
    FakeSubscriptionRepository,
    FakeTokenRepository,
    FakeUsageRepository,
    FakeUserRepository,
)

RELOAD_EXPIRY_MINUTES = 30
SERVICE_KEY = uuid.UUID("00000000-0000-4000-8000-00000000a1e1")  # the backend that charges


class PayPerUse:
    """Mixed into ``Billing``, which provides the repositories and the shared services."""

    users: FakeUserRepository
    tokens: FakeTokenRepository
    subscriptions: FakeSubscriptionRepository
    usages: FakeUsageRepository
    api_keys: FakeApiKeyRepository
    auto_reloads: FakeAutoReloadRepository
    job_queue: FakeJobQueue
    token_service: Callable[[], TokenService]
    token_bundle_service: Callable[[], TokenBundleService]
    invoice_service: Callable[[], InvoiceService]
    payment_service: Callable[[], PaymentService]
    user_service: Callable[[], UserService]
    payment_providers: Callable[[], PaymentProviders]
    capture_service: Callable[[], CaptureService]
    bundle: Callable[..., TokenBundle]
    subscription: Callable[..., Subscription]

    # -- services ------------------------------------------------------------------------

    def entitlement_service(self) -> EntitlementService:
        return EntitlementService(
            subscriptions=self.subscriptions, users=self.users, tokens=self.tokens
        )

    def usage_service(self) -> UsageService:
        return UsageService(
            usages=self.usages,
            users=self.users,
            token_service=self.token_service(),
            entitlement_service=self.entitlement_service(),
        )

    def api_key_service(self) -> ApiKeyService:
        return ApiKeyService(keys=self.api_keys)

    def auto_reload_service(self) -> AutoReloadService:
        return AutoReloadService(
            reloads=self.auto_reloads, token_bundle_service=self.token_bundle_service()
        )

    # -- command handlers, as the container registers them -------------------------------

    def consume_tokens_handler(self) -> ConsumeTokensHandler:
        return ConsumeTokensHandler(self.usage_service, self.auto_reload_service, self.job_queue)

    def refund_usage_handler(self) -> RefundUsageHandler:
        return RefundUsageHandler(self.usage_service(), self.token_service(), self.user_service())

    def adjust_tokens_handler(self) -> AdjustTokensHandler:
        return AdjustTokensHandler(self.token_service(), self.user_service())

    def configure_auto_reload_handler(self) -> ConfigureAutoReloadHandler:
        return ConfigureAutoReloadHandler(self.auto_reload_service())

    def auto_reload_process(self) -> AutoReloadProcess:
        """The process over a dispatcher of its three handlers (as the root container wires
        it); each command runs in a fake unit of work."""
        handlers: dict[str, Callable[[], IEventHandler[Any, Any]]] = {
            "auto_reload.plan_requested": lambda: PlanAutoReloadHandler(
                self.auto_reload_service(),
                self.token_service(),
                self.payment_service(),
                self.user_service(),
            ),
            "auto_reload.intent_requested": lambda: OpenAutoReloadHandler(
                self.auto_reload_service(),
                self.token_service(),
                self.token_bundle_service(),
                self.invoice_service(),
                self.payment_service(),
                self.user_service(),
                expiry_minutes=RELOAD_EXPIRY_MINUTES,
            ),
            "auto_reload.outcome_reported": lambda: RecordAutoReloadOutcomeHandler(
                self.auto_reload_service(),
                self.invoice_service(),
                self.payment_service(),
                self.token_bundle_service(),
                self.capture_service(),
            ),
        }
        dispatcher = EventDispatcher(FakeUnitOfWork().factory, handlers, {})
        return AutoReloadProcess(lambda: dispatcher, self.payment_providers(), NoFaults())

    # -- commands and rows ---------------------------------------------------------------

    def consume(
        self,
        user_id: uuid.UUID,
        amount: int = 1,
        reference: str = "job-1",
        api_key_id: uuid.UUID | None = SERVICE_KEY,
    ) -> EventResult[ConsumeOutcome]:
        """A use charged by ``api_key_id`` (None: the user's own token)."""
        event = TokensConsumeRequestedEvent(
            user_id=user_id, amount=amount, reference=reference, api_key_id=api_key_id
        )
        return self.consume_tokens_handler().handle(event)

    def refund_use(
        self,
        user_id: uuid.UUID,
        usage_id: uuid.UUID,
        reason: str | None = "failed",
        api_key_id: uuid.UUID | None = SERVICE_KEY,
        admin_id: uuid.UUID | None = None,
    ) -> EventResult[UsageRefundOutcome]:
        """Asked by ``api_key_id`` (the key that charged, by default) or by ``admin_id``."""
        event = UsageRefundRequestedEvent(
            user_id=user_id,
            usage_id=usage_id,
            reason=reason,
            api_key_id=api_key_id,
            admin_id=admin_id,
        )
        return self.refund_usage_handler().handle(event)

    def reload(self, user_id: uuid.UUID) -> AutoReloadAttempt:
        return self.auto_reload_process().run(user_id)

    def grant(self, user_id: uuid.UUID, tokens: int) -> None:
        """``tokens`` bought earlier (a purchase entry of its own)."""
        self.token_service().credit_tokens(
            user_id,
            tokens,
            kind=TokenTransactionType.PURCHASE,
            reference=LedgerReference("token_bundle_purchase", uuid.uuid4()),
            description="bought",
        )

    def balance(self, user_id: uuid.UUID) -> int:
        return self.token_service().get_balance(user_id).balance

    def trial_left(self, user_id: uuid.UUID) -> int:
        user = self.users.get(user_id)
        assert user is not None
        return user.trial_remaining

    def subscribed(self, user_id: uuid.UUID, plan: Plan, **fields: object) -> Subscription:
        """An active subscription to ``plan`` (``expires_at=...`` to end it)."""
        return self.subscription(user_id, SubscriptionStatus.ACTIVE, plan=plan, **fields)

    def auto_reload(
        self,
        user_id: uuid.UUID,
        bundle: TokenBundle | None = None,
        threshold: int = 10,
        enabled: bool = True,
        failures: int = 0,
    ) -> AutoReloadSetting:
        """A stored setting (for ``bundle``, else a new 100-token bundle at 20.00)."""
        bundle = bundle or self.bundle(100, "20.00")
        return self.auto_reloads.add(
            AutoReloadSetting(
                user_id=user_id,
                enabled=enabled,
                threshold=threshold,
                bundle_id=bundle.id,
                failure_count=failures,
            )
        )
