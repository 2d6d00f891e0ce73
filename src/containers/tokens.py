"""Tokens and usage: the token ledger, pay-per-use, entitlement and auto-reload settings.

Reads users (balances belong to a user), the catalog (a reload buys a bundle) and billing
(entitlement reads subscriptions; a failed reload closes its invoice). Charging a reload
is a provider intent that also reads payments, so it has an area of its own (auto_reload).
"""

from dependency_injector import containers, providers
from sqlalchemy import Engine

from src.handlers.auto_reload_handlers import AutoReloadPaymentFailedHandler
from src.handlers.hold_handlers import (
    PlaceHoldHandler,
    ReleaseExpiredHoldsHandler,
    ReleaseHoldHandler,
    SettleHoldHandler,
)
from src.handlers.token_handlers import (
    AdjustTokensHandler,
    ConfigureAutoReloadHandler,
    ConsumeTokensHandler,
    RefundUsageHandler,
)
from src.repositories.auto_reload_repository import AutoReloadRepository
from src.repositories.base import SessionProxy
from src.repositories.hold_repository import TokenHoldRepository
from src.repositories.token_repository import TokenRepository
from src.repositories.usage_charge_repository import UsageChargeRepository
from src.repositories.usage_repository import TokenUsageRepository
from src.services.auto_reload_service import AutoReloadService
from src.services.entitlement_service import EntitlementService
from src.services.hold_service import HoldService
from src.services.token_service import TokenService
from src.services.usage_fast_path import UsageFastPath
from src.services.usage_service import UsageService


class TokensContainer(containers.DeclarativeContainer):
    session: providers.Dependency[SessionProxy] = providers.Dependency()
    autocommit_engine: providers.Dependency[Engine] = providers.Dependency()
    users = providers.DependenciesContainer()
    catalog = providers.DependenciesContainer()
    billing = providers.DependenciesContainer()
    jobs = providers.DependenciesContainer()

    token_repository = providers.Factory(TokenRepository, session=session)
    usage_repository = providers.Factory(TokenUsageRepository, session=session)
    auto_reload_repository = providers.Factory(AutoReloadRepository, session=session)
    hold_repository = providers.Factory(TokenHoldRepository, session=session)
    usage_charge_repository = providers.Factory(
        UsageChargeRepository, session=session, autocommit_engine=autocommit_engine
    )

    token_service = providers.Factory(TokenService, tokens=token_repository)
    entitlement_service = providers.Factory(
        EntitlementService,
        subscriptions=billing.subscription_repository,
        users=users.user_repository,
        tokens=token_repository,
        policy=billing.dunning_policy,
    )
    usage_service = providers.Factory(
        UsageService,
        usages=usage_repository,
        users=users.user_repository,
        token_service=token_service,
        entitlement_service=entitlement_service,
    )
    usage_fast_path = providers.Factory(UsageFastPath, charges=usage_charge_repository)
    hold_service = providers.Factory(
        HoldService,
        holds=hold_repository,
        usages=usage_repository,
        users=users.user_repository,
        token_service=token_service,
        entitlement_service=entitlement_service,
    )
    auto_reload_service = providers.Factory(
        AutoReloadService,
        reloads=auto_reload_repository,
        token_bundle_service=catalog.token_bundle_service,
    )

    consume_tokens_handler = providers.Factory(
        ConsumeTokensHandler,
        usage_service=usage_service.provider,
        auto_reload_service=auto_reload_service.provider,
        job_queue=jobs.job_queue,
        fast_path=usage_fast_path,
    )
    refund_usage_handler = providers.Factory(
        RefundUsageHandler,
        usage_service=usage_service,
        token_service=token_service,
        user_service=users.user_service,
    )
    place_hold_handler = providers.Factory(
        PlaceHoldHandler, hold_service=hold_service, token_service=token_service
    )
    settle_hold_handler = providers.Factory(
        SettleHoldHandler, hold_service=hold_service, token_service=token_service
    )
    release_hold_handler = providers.Factory(
        ReleaseHoldHandler, hold_service=hold_service, token_service=token_service
    )
    release_expired_holds_handler = providers.Factory(
        ReleaseExpiredHoldsHandler, hold_service=hold_service
    )
    adjust_tokens_handler = providers.Factory(
        AdjustTokensHandler, token_service=token_service, user_service=users.user_service
    )
    configure_auto_reload_handler = providers.Factory(
        ConfigureAutoReloadHandler, auto_reload_service=auto_reload_service
    )
    auto_reload_payment_failed_handler = providers.Factory(
        AutoReloadPaymentFailedHandler,
        auto_reload_service=auto_reload_service,
        invoice_service=billing.invoice_service,
        token_bundle_service=catalog.token_bundle_service,
    )
