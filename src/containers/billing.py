"""Checkout and invoices: subscriptions, invoices, idempotency keys and the checkout handler.

Reads the catalog (what is being bought). Cancelling an invoice also cancels its provider
session, so that handler lives with the payments area, downstream of this one.
"""

from dependency_injector import containers, providers

from src.handlers.checkout_handlers import CheckoutHandler
from src.repositories.base import SessionProxy
from src.repositories.idempotency_repository import IdempotencyKeyRepository
from src.repositories.invoice_repository import InvoiceRepository
from src.repositories.subscription_repository import SubscriptionRepository
from src.services.idempotency_service import IdempotencyService
from src.services.invoice_service import InvoiceService
from src.services.subscription_service import SubscriptionService


class BillingContainer(containers.DeclarativeContainer):
    session: providers.Dependency[SessionProxy] = providers.Dependency()
    catalog = providers.DependenciesContainer()

    subscription_repository = providers.Factory(SubscriptionRepository, session=session)
    invoice_repository = providers.Factory(InvoiceRepository, session=session)
    idempotency_repository = providers.Factory(IdempotencyKeyRepository, session=session)

    subscription_service = providers.Factory(
        SubscriptionService, subscriptions=subscription_repository
    )
    invoice_service = providers.Factory(InvoiceService, invoices=invoice_repository)
    idempotency_service = providers.Factory(IdempotencyService, keys=idempotency_repository)

    checkout_handler = providers.Factory(
        CheckoutHandler,
        plan_service=catalog.plan_service,
        subscription_service=subscription_service,
        token_bundle_service=catalog.token_bundle_service,
        add_on_service=catalog.add_on_service,
        invoice_service=invoice_service,
        idempotency_service=idempotency_service,
    )
