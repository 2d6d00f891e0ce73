"""What providers report about money going back: refunds made in their dashboard and
chargebacks (src/handlers/provider_refund_handlers.py), with the dispute service.

Reads billing (invoices, subscriptions), catalog (purchases, add-ons), tokens (the ledger)
and payments (records, the grant reversal, the webhook event ledger).
"""

from dependency_injector import containers, providers

from src.handlers.provider_refund_handlers import (
    DisputeClosedHandler,
    DisputeOpenedHandler,
    ProviderRefundReportedHandler,
)
from src.repositories.base import SessionProxy
from src.repositories.dispute_repository import DisputeRepository
from src.services.dispute_service import DisputeService


class ProviderReportsContainer(containers.DeclarativeContainer):
    session: providers.Dependency[SessionProxy] = providers.Dependency()
    billing = providers.DependenciesContainer()
    catalog = providers.DependenciesContainer()
    tokens = providers.DependenciesContainer()
    payments = providers.DependenciesContainer()

    dispute_repository = providers.Factory(DisputeRepository, session=session)
    dispute_service = providers.Factory(
        DisputeService,
        grant_reversal_service=payments.grant_reversal_service,
        token_service=tokens.token_service,
        token_bundle_service=catalog.token_bundle_service,
        disputes=dispute_repository,
        subscriptions=billing.subscription_repository,
        addon_subscriptions=catalog.addon_subscription_repository,
    )

    refund_reported_handler = providers.Factory(
        ProviderRefundReportedHandler,
        payment_service=payments.payment_service,
        invoice_service=billing.invoice_service,
        webhook_event_service=payments.webhook_event_service,
        grant_reversal_service=payments.grant_reversal_service,
    )
    dispute_opened_handler = providers.Factory(
        DisputeOpenedHandler,
        payment_service=payments.payment_service,
        invoice_service=billing.invoice_service,
        webhook_event_service=payments.webhook_event_service,
        dispute_service=dispute_service,
    )
    dispute_closed_handler = providers.Factory(
        DisputeClosedHandler,
        payment_service=payments.payment_service,
        invoice_service=billing.invoice_service,
        webhook_event_service=payments.webhook_event_service,
        dispute_service=dispute_service,
    )
