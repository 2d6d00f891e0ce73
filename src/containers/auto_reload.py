"""Auto-reload's provider intent: plan, commit the intent, record the outcome.

Reads every area below it: the settings and balances (tokens), the bundle (catalog), the
invoice (billing), the user's customer (users), and the payment and its capture (payments).
The process that runs these three commands around the provider call needs the dispatcher, so
the root container builds it.
"""

from dependency_injector import containers, providers

from src.config import Settings
from src.handlers.auto_reload_handlers import (
    OpenAutoReloadHandler,
    PlanAutoReloadHandler,
    RecordAutoReloadOutcomeHandler,
)


class AutoReloadContainer(containers.DeclarativeContainer):
    settings: providers.Dependency[Settings] = providers.Dependency(instance_of=Settings)
    users = providers.DependenciesContainer()
    catalog = providers.DependenciesContainer()
    billing = providers.DependenciesContainer()
    tokens = providers.DependenciesContainer()
    payments = providers.DependenciesContainer()

    plan_handler = providers.Factory(
        PlanAutoReloadHandler,
        auto_reload_service=tokens.auto_reload_service,
        token_service=tokens.token_service,
        payment_service=payments.payment_service,
        user_service=users.user_service,
    )
    open_handler = providers.Factory(
        OpenAutoReloadHandler,
        auto_reload_service=tokens.auto_reload_service,
        token_service=tokens.token_service,
        token_bundle_service=catalog.token_bundle_service,
        invoice_service=billing.invoice_service,
        payment_service=payments.payment_service,
        user_service=users.user_service,
        expiry_minutes=settings.provided.PAYMENT_SESSION_EXPIRY_MINUTES,
    )
    record_outcome_handler = providers.Factory(
        RecordAutoReloadOutcomeHandler,
        auto_reload_service=tokens.auto_reload_service,
        invoice_service=billing.invoice_service,
        payment_service=payments.payment_service,
        token_bundle_service=catalog.token_bundle_service,
        capture_service=payments.capture_service,
    )
