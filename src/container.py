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
from src.handlers.listeners import AuditLogListener
from src.handlers.payment_handlers import PaymentCapturedHandler
from src.repositories.addon_subscription_repository import AddOnSubscriptionRepository
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
from src.repositories.user_repository import UserRepository
from src.services.addon_service import AddOnService
from src.services.catalog_seed import CatalogSeeder
from src.services.idempotency_service import IdempotencyService
from src.services.invoice_service import InvoiceService
from src.services.payment_service import PaymentService
from src.services.plan_service import PlanService
from src.services.subscription_service import SubscriptionService
from src.services.token_bundle_service import TokenBundleService
from src.services.token_service import TokenService
from src.services.user_service import UserService
from src.webhook_signatures import SignedPayloadVerifier


def _session() -> object:
    """The request-scoped session proxy, looked up when a repository is built."""
    return db.session


class Container(containers.DeclarativeContainer):
    wiring_config = containers.WiringConfiguration(packages=["src.routes", "src.cli"])

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

    # Services
    user_service = providers.Factory(
        UserService, users=user_repository, password_hasher=password_hasher
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
        invoice_service=invoice_service,
        subscription_service=subscription_service,
        token_bundle_service=token_bundle_service,
        token_service=token_service,
        add_on_service=add_on_service,
        payment_service=payment_service,
    )

    cancel_invoice_handler = providers.Factory(
        CancelInvoiceHandler,
        invoice_service=invoice_service,
        subscription_service=subscription_service,
        token_bundle_service=token_bundle_service,
        add_on_service=add_on_service,
    )

    command_handlers = providers.Dict(
        {
            "user.registration_requested": register_user_handler.provider,
            "user.login_requested": login_handler.provider,
            "checkout.requested": checkout_handler.provider,
            "payment.captured": payment_captured_handler.provider,
            "invoice.cancellation_requested": cancel_invoice_handler.provider,
        }
    )

    # Notification listeners, by event name ("*" hears everything)
    audit_log_listener = providers.Factory(AuditLogListener)
    listeners = providers.Dict({ALL_NOTIFICATIONS: providers.List(audit_log_listener.provider)})

    unit_of_work = providers.Factory(SqlAlchemyUnitOfWork, session=session)
    dispatcher = providers.Factory(
        EventDispatcher,
        unit_of_work=unit_of_work.provider,
        command_handlers=command_handlers,
        listeners=listeners,
    )
