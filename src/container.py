"""The one place where objects are built (dependency-injector).

Repositories, services and handlers are ``Factory``: built per use, bound to the current
request's session. Only stateless shared clients are singletons. Command handlers are
registered by event name (``providers.Dict`` with dotted keys); routes receive the dispatcher
through ``@inject``. Tests override providers here, never by patching imports.
"""

from argon2 import PasswordHasher
from dependency_injector import containers, providers

from src.config import Settings
from src.events.dispatcher import ALL_NOTIFICATIONS, EventDispatcher
from src.events.unit_of_work import SqlAlchemyUnitOfWork
from src.extensions import db
from src.handlers.auth_handlers import LoginHandler, RegisterUserHandler
from src.handlers.checkout_handlers import CheckoutHandler
from src.handlers.invoice_handlers import CancelInvoiceHandler
from src.handlers.auto_reload_handlers import AutoReloadHandler, AutoReloadPaymentFailedHandler
from src.handlers.listeners import AuditLogListener, AutoReloadListener
from src.handlers.payment_expiry_handlers import ExpirePaymentsHandler
from src.handlers.payment_method_handlers import SetupPaymentMethodHandler
from src.handlers.payment_handlers import (
    PaymentCapturedHandler,
    PaymentFailureHandler,
    RefundReportedHandler,
)
from src.handlers.payment_start_handlers import StartPaymentHandler
from src.handlers.payment_verify_handlers import VerifyPaymentHandler
from src.handlers.refund_handlers import RefundPaymentHandler
from src.handlers.token_handlers import (
    AdjustTokensHandler,
    ConfigureAutoReloadHandler,
    ConsumeTokensHandler,
    RefundUsageHandler,
)
from src.providers.base import PaymentProviders
from src.providers.manual import ManualProvider
from src.providers.stripe_provider import StripeProvider, build_stripe_client
from src.repositories.addon_subscription_repository import AddOnSubscriptionRepository
from src.repositories.api_key_repository import ApiKeyRepository
from src.repositories.auto_reload_repository import AutoReloadRepository
from src.repositories.catalog_repository import (
    AddOnRepository,
    PlanRepository,
    TokenBundleRepository,
)
from src.repositories.health_repository import HealthRepository
from src.repositories.idempotency_repository import IdempotencyKeyRepository
from src.repositories.invoice_repository import InvoiceRepository
from src.repositories.payment_repository import PaymentRepository
from src.repositories.purchase_repository import TokenBundlePurchaseRepository
from src.repositories.subscription_repository import SubscriptionRepository
from src.repositories.token_repository import TokenRepository
from src.repositories.usage_repository import TokenUsageRepository
from src.repositories.user_repository import UserRepository
from src.repositories.webhook_event_repository import WebhookEventRepository
from src.services.addon_service import AddOnService
from src.services.api_key_service import ApiKeyService
from src.services.auto_reload_service import AutoReloadService
from src.services.capture_service import CaptureService
from src.services.catalog_seed import CatalogSeeder
from src.services.entitlement_service import EntitlementService
from src.services.grant_reversal_service import GrantReversalService
from src.services.idempotency_service import IdempotencyService
from src.services.invoice_service import InvoiceService
from src.services.payment_service import PaymentService
from src.services.plan_service import PlanService
from src.services.subscription_service import SubscriptionService
from src.services.token_bundle_service import TokenBundleService
from src.services.token_service import TokenService
from src.services.usage_service import UsageService
from src.services.user_service import UserService
from src.services.webhook_event_service import WebhookEventService
from src.webhook_signatures import SignedPayloadVerifier


def _session() -> object:
    """The request-scoped session proxy, looked up when a repository is built."""
    return db.session


class Container(containers.DeclarativeContainer):
    wiring_config = containers.WiringConfiguration(packages=["src.routes", "src.cli"])
    __self__ = providers.Self()

    settings = providers.Dependency(instance_of=Settings)
    session = providers.Callable(_session)

    password_hasher = providers.ThreadSafeSingleton(
        PasswordHasher,
        time_cost=settings.provided.PASSWORD_HASH_TIME_COST,
        memory_cost=settings.provided.PASSWORD_HASH_MEMORY_KIB,
        parallelism=settings.provided.PASSWORD_HASH_PARALLELISM,
    )

    # Repositories
    user_repository = providers.Factory(UserRepository, session=session)
    plan_repository = providers.Factory(PlanRepository, session=session)
    token_bundle_repository = providers.Factory(TokenBundleRepository, session=session)
    add_on_repository = providers.Factory(AddOnRepository, session=session)
    subscription_repository = providers.Factory(SubscriptionRepository, session=session)
    purchase_repository = providers.Factory(TokenBundlePurchaseRepository, session=session)
    addon_subscription_repository = providers.Factory(AddOnSubscriptionRepository, session=session)
    invoice_repository = providers.Factory(InvoiceRepository, session=session)
    idempotency_repository = providers.Factory(IdempotencyKeyRepository, session=session)
    health_repository = providers.Factory(HealthRepository, session=session)
    token_repository = providers.Factory(TokenRepository, session=session)
    payment_repository = providers.Factory(PaymentRepository, session=session)
    webhook_event_repository = providers.Factory(WebhookEventRepository, session=session)
    usage_repository = providers.Factory(TokenUsageRepository, session=session)
    api_key_repository = providers.Factory(ApiKeyRepository, session=session)
    auto_reload_repository = providers.Factory(AutoReloadRepository, session=session)

    # Payment providers (the Stripe client is the one shared, stateless singleton)
    stripe_client = providers.ThreadSafeSingleton(build_stripe_client, settings=settings)
    stripe_provider = providers.Factory(
        StripeProvider,
        client=stripe_client,
        webhook_secret=providers.Callable(
            lambda secret: secret.get_secret_value() if secret else None,
            settings.provided.STRIPE_WEBHOOK_SECRET,
        ),
        success_url=settings.provided.CHECKOUT_SUCCESS_URL,
        cancel_url=settings.provided.CHECKOUT_CANCEL_URL,
    )
    manual_provider = providers.Factory(ManualProvider)
    payment_providers = providers.Factory(
        PaymentProviders,
        providers=providers.Dict(stripe=stripe_provider, manual=manual_provider),
    )

    # Services
    user_service = providers.Factory(
        UserService,
        users=user_repository,
        password_hasher=password_hasher,
        trial_credits=settings.provided.TRIAL_CREDITS,
    )
    plan_service = providers.Factory(PlanService, plans=plan_repository)
    subscription_service = providers.Factory(
        SubscriptionService, subscriptions=subscription_repository
    )
    token_bundle_service = providers.Factory(
        TokenBundleService, bundles=token_bundle_repository, purchases=purchase_repository
    )
    add_on_service = providers.Factory(
        AddOnService, add_ons=add_on_repository, addon_subscriptions=addon_subscription_repository
    )
    invoice_service = providers.Factory(InvoiceService, invoices=invoice_repository)
    idempotency_service = providers.Factory(IdempotencyService, keys=idempotency_repository)
    token_service = providers.Factory(TokenService, tokens=token_repository)
    payment_service = providers.Factory(PaymentService, payments=payment_repository)
    webhook_event_service = providers.Factory(WebhookEventService, events=webhook_event_repository)
    capture_service = providers.Factory(
        CaptureService,
        invoice_service=invoice_service,
        subscription_service=subscription_service,
        token_bundle_service=token_bundle_service,
        token_service=token_service,
        add_on_service=add_on_service,
        payment_service=payment_service,
        user_service=user_service,
    )
    entitlement_service = providers.Factory(
        EntitlementService,
        subscriptions=subscription_repository,
        users=user_repository,
        tokens=token_repository,
    )
    usage_service = providers.Factory(
        UsageService,
        usages=usage_repository,
        users=user_repository,
        token_service=token_service,
        entitlement_service=entitlement_service,
    )
    api_key_service = providers.Factory(ApiKeyService, keys=api_key_repository)
    auto_reload_service = providers.Factory(
        AutoReloadService, reloads=auto_reload_repository, token_bundle_service=token_bundle_service
    )
    grant_reversal_service = providers.Factory(
        GrantReversalService,
        token_service=token_service,
        token_bundle_service=token_bundle_service,
        subscription_service=subscription_service,
        add_on_service=add_on_service,
    )
    payment_webhook_verifier = providers.Factory(
        SignedPayloadVerifier,
        secret=settings.provided.PAYMENT_WEBHOOK_SECRET,
        tolerance_seconds=settings.provided.PAYMENT_WEBHOOK_TOLERANCE_SECONDS,
    )
    catalog_seeder = providers.Factory(
        CatalogSeeder,
        plans=plan_repository,
        bundles=token_bundle_repository,
        add_ons=add_on_repository,
    )

    # Command handlers
    register_user_handler = providers.Factory(RegisterUserHandler, user_service=user_service)
    login_handler = providers.Factory(LoginHandler, user_service=user_service)
    checkout_handler = providers.Factory(
        CheckoutHandler,
        plan_service=plan_service,
        subscription_service=subscription_service,
        token_bundle_service=token_bundle_service,
        add_on_service=add_on_service,
        invoice_service=invoice_service,
        idempotency_service=idempotency_service,
    )

    payment_captured_handler = providers.Factory(
        PaymentCapturedHandler,
        capture_service=capture_service,
        invoice_service=invoice_service,
        webhook_event_service=webhook_event_service,
    )
    payment_failure_handler = providers.Factory(
        PaymentFailureHandler,
        payment_service=payment_service,
        webhook_event_service=webhook_event_service,
    )
    refund_reported_handler = providers.Factory(
        RefundReportedHandler,
        payment_service=payment_service,
        webhook_event_service=webhook_event_service,
    )
    start_payment_handler = providers.Factory(
        StartPaymentHandler,
        invoice_service=invoice_service,
        payment_service=payment_service,
        user_service=user_service,
        payment_providers=payment_providers,
        expiry_minutes=settings.provided.PAYMENT_SESSION_EXPIRY_MINUTES,
    )
    verify_payment_handler = providers.Factory(
        VerifyPaymentHandler,
        payment_service=payment_service,
        capture_service=capture_service,
        invoice_service=invoice_service,
        payment_providers=payment_providers,
    )
    refund_payment_handler = providers.Factory(
        RefundPaymentHandler,
        payment_service=payment_service,
        invoice_service=invoice_service,
        grant_reversal_service=grant_reversal_service,
        payment_providers=payment_providers,
    )
    expire_payments_handler = providers.Factory(
        ExpirePaymentsHandler,
        payment_service=payment_service,
        payment_providers=payment_providers,
    )
    consume_tokens_handler = providers.Factory(
        ConsumeTokensHandler, usage_service=usage_service, auto_reload_service=auto_reload_service
    )
    refund_usage_handler = providers.Factory(
        RefundUsageHandler,
        usage_service=usage_service,
        token_service=token_service,
        user_service=user_service,
    )
    adjust_tokens_handler = providers.Factory(
        AdjustTokensHandler, token_service=token_service, user_service=user_service
    )
    configure_auto_reload_handler = providers.Factory(
        ConfigureAutoReloadHandler, auto_reload_service=auto_reload_service
    )
    auto_reload_handler = providers.Factory(
        AutoReloadHandler,
        auto_reload_service=auto_reload_service,
        token_service=token_service,
        token_bundle_service=token_bundle_service,
        invoice_service=invoice_service,
        payment_service=payment_service,
        user_service=user_service,
        payment_providers=payment_providers,
        expiry_minutes=settings.provided.PAYMENT_SESSION_EXPIRY_MINUTES,
    )
    auto_reload_payment_failed_handler = providers.Factory(
        AutoReloadPaymentFailedHandler,
        auto_reload_service=auto_reload_service,
        invoice_service=invoice_service,
        token_bundle_service=token_bundle_service,
    )
    setup_payment_method_handler = providers.Factory(
        SetupPaymentMethodHandler, user_service=user_service, payment_providers=payment_providers
    )
    cancel_invoice_handler = providers.Factory(
        CancelInvoiceHandler,
        invoice_service=invoice_service,
        subscription_service=subscription_service,
        token_bundle_service=token_bundle_service,
        add_on_service=add_on_service,
        payment_service=payment_service,
        payment_providers=payment_providers,
    )

    command_handlers = providers.Dict(
        {
            "user.registration_requested": register_user_handler.provider,
            "user.login_requested": login_handler.provider,
            "checkout.requested": checkout_handler.provider,
            "payment.captured": payment_captured_handler.provider,
            "payment.failure_reported": payment_failure_handler.provider,
            "payment.refund_reported": refund_reported_handler.provider,
            "payment.start_requested": start_payment_handler.provider,
            "payment.verification_requested": verify_payment_handler.provider,
            "payment.refund_requested": refund_payment_handler.provider,
            "payments.expiry_requested": expire_payments_handler.provider,
            "payment_method.setup_requested": setup_payment_method_handler.provider,
            "tokens.consume_requested": consume_tokens_handler.provider,
            "tokens.usage_refund_requested": refund_usage_handler.provider,
            "tokens.adjustment_requested": adjust_tokens_handler.provider,
            "auto_reload.configuration_requested": configure_auto_reload_handler.provider,
            "auto_reload.requested": auto_reload_handler.provider,
            "auto_reload.payment_failed": auto_reload_payment_failed_handler.provider,
            "invoice.cancellation_requested": cancel_invoice_handler.provider,
        }
    )

    # Notification listeners, by event name ("*" hears everything)
    audit_log_listener = providers.Factory(AuditLogListener)
    # The listener emits a follow-up command, so it gets the dispatcher provider itself.
    auto_reload_listener = providers.Factory(
        AutoReloadListener, dispatcher_factory=__self__.provided.dispatcher
    )
    listeners = providers.Dict(
        {
            ALL_NOTIFICATIONS: providers.List(audit_log_listener.provider),
            "auto_reload.needed": providers.List(auto_reload_listener.provider),
            "payment.failed": providers.List(auto_reload_listener.provider),
        }
    )

    unit_of_work = providers.Factory(SqlAlchemyUnitOfWork, session=session)
    dispatcher = providers.Factory(
        EventDispatcher,
        unit_of_work=unit_of_work.provider,
        command_handlers=command_handlers,
        listeners=listeners,
    )
