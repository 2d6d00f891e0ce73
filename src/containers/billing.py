"""Checkout and invoices: subscriptions, invoices and idempotency keys (the checkout handler is
built by the lifecycle area, which can settle an invoice with nothing to pay).

Reads the catalog (what is being bought). Cancelling an invoice also cancels its provider
session, so that handler lives with the payments area, downstream of this one.
"""

from dependency_injector import containers, providers

from src.config import Settings
from src.repositories.base import SessionProxy
from src.repositories.idempotency_repository import IdempotencyKeyRepository
from src.repositories.invoice_repository import InvoiceRepository
from src.repositories.subscription_repository import SubscriptionRepository
from src.services.dunning_policy import DunningPolicy
from src.services.idempotency_service import IdempotencyService
from src.services.invoice_service import InvoiceService
from src.services.subscription_service import SubscriptionService


class BillingContainer(containers.DeclarativeContainer):
    settings: providers.Dependency[Settings] = providers.Dependency(instance_of=Settings)
    session: providers.Dependency[SessionProxy] = providers.Dependency()
    catalog = providers.DependenciesContainer()

    # When past-due renewals are retried and how long access lasts meanwhile.
    dunning_policy = providers.ThreadSafeSingleton(
        DunningPolicy.from_settings,
        retry_days=settings.provided.DUNNING_RETRY_DAYS,
        grace=settings.provided.DUNNING_GRACE,
    )

    subscription_repository = providers.Factory(SubscriptionRepository, session=session)
    invoice_repository = providers.Factory(InvoiceRepository, session=session)
    idempotency_repository = providers.Factory(IdempotencyKeyRepository, session=session)

    subscription_service = providers.Factory(
        SubscriptionService, subscriptions=subscription_repository, policy=dunning_policy
    )
    invoice_service = providers.Factory(InvoiceService, invoices=invoice_repository)
    idempotency_service = providers.Factory(IdempotencyService, keys=idempotency_repository)
