"""Payments and providers: payment records, provider adapters and every handler that talks to one.

The most downstream area: capturing a payment grants what the invoice sold (reads users,
catalog, billing and tokens), and a refund takes it back. The commands of the user's payment
processes (start, invoice cancel, verify) are in ``payment_processes.py``, which reads this
area. The Stripe client is the area's one shared singleton.
"""

from dependency_injector import containers, providers
from pydantic import SecretStr

from src.config import Settings
from src.handlers.payment_handlers import (
    PaymentCapturedHandler,
    PaymentFailureHandler,
)
from src.handlers.payment_method_handlers import SetupPaymentMethodHandler
from src.handlers.reconcile_handlers import ListOpenPaymentsHandler, ResolvePaymentHandler
from src.providers.base import PaymentProviders
from src.providers.manual import ManualProvider
from src.providers.stripe_provider import StripeProvider, build_stripe_client
from src.repositories.base import SessionProxy
from src.repositories.bundle_capture_repository import BundleCaptureRepository
from src.repositories.payment_repository import PaymentRepository
from src.repositories.savepoints import SessionSavepoints
from src.repositories.webhook_event_repository import WebhookEventRepository
from src.services.capture_service import CaptureService
from src.services.grant_reversal_service import GrantReversalService
from src.services.one_statement_capture import OneStatementCapture
from src.services.payment_service import PaymentService
from src.services.unapplied_payment_service import UnappliedPaymentService
from src.services.webhook_event_service import WebhookEventService
from src.webhook_signatures import SignedPayloadVerifier


def _revealed(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret else None


class PaymentsContainer(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    session: providers.Dependency[SessionProxy] = providers.Dependency()
    users = providers.DependenciesContainer()
    catalog = providers.DependenciesContainer()
    billing = providers.DependenciesContainer()
    tokens = providers.DependenciesContainer()
    jobs = providers.DependenciesContainer()

    # Provider adapters, by name
    stripe_client = providers.ThreadSafeSingleton(build_stripe_client, settings=settings)
    stripe_provider = providers.Factory(
        StripeProvider,
        client=stripe_client,
        webhook_secret=providers.Callable(_revealed, settings.provided.STRIPE_WEBHOOK_SECRET),
        success_url=settings.provided.CHECKOUT_SUCCESS_URL,
        cancel_url=settings.provided.CHECKOUT_CANCEL_URL,
    )
    manual_provider = providers.Factory(ManualProvider)
    payment_providers = providers.Factory(
        PaymentProviders,
        providers=providers.Dict(stripe=stripe_provider, manual=manual_provider),
    )
    payment_webhook_verifier = providers.Factory(
        SignedPayloadVerifier,
        secret=settings.provided.PAYMENT_WEBHOOK_SECRET,
        tolerance_seconds=settings.provided.PAYMENT_WEBHOOK_TOLERANCE_SECONDS,
    )

    # Records and services
    payment_repository = providers.Factory(PaymentRepository, session=session)
    bundle_capture_repository = providers.Factory(BundleCaptureRepository, session=session)
    webhook_event_repository = providers.Factory(WebhookEventRepository, session=session)
    payment_service = providers.Factory(PaymentService, payments=payment_repository)
    webhook_event_service = providers.Factory(WebhookEventService, events=webhook_event_repository)
    unapplied_payment_service = providers.Factory(
        UnappliedPaymentService,
        payment_service=payment_service,
        job_queue=jobs.job_queue,
        payment_providers=payment_providers,
        auto_refund=settings.provided.AUTO_REFUND_UNAPPLIED,
    )
    capture_service = providers.Factory(
        CaptureService,
        invoice_service=billing.invoice_service,
        subscription_service=billing.subscription_service,
        token_bundle_service=catalog.token_bundle_service,
        token_service=tokens.token_service,
        add_on_service=catalog.add_on_service,
        payment_service=payment_service,
        user_service=users.user_service,
        savepoints=providers.Factory(SessionSavepoints, session=session),
        unapplied_payment_service=unapplied_payment_service,
        bundle_captures=bundle_capture_repository,
    )
    grant_reversal_service = providers.Factory(
        GrantReversalService,
        token_service=tokens.token_service,
        token_bundle_service=catalog.token_bundle_service,
        subscription_service=billing.subscription_service,
        add_on_service=catalog.add_on_service,
    )

    # Command handlers
    payment_captured_handler = providers.Factory(
        PaymentCapturedHandler,
        one_statement=providers.Factory(
            OneStatementCapture, bundle_captures=bundle_capture_repository
        ),
        capture_service=capture_service.provider,
        invoice_service=billing.invoice_service,
        webhook_event_service=webhook_event_service,
    )
    payment_failure_handler = providers.Factory(
        PaymentFailureHandler,
        payment_service=payment_service,
        webhook_event_service=webhook_event_service,
    )
    list_open_payments_handler = providers.Factory(
        ListOpenPaymentsHandler, payment_service=payment_service
    )
    resolve_payment_handler = providers.Factory(
        ResolvePaymentHandler,
        payment_service=payment_service,
        invoice_service=billing.invoice_service,
        capture_service=capture_service,
    )
    setup_payment_method_handler = providers.Factory(
        SetupPaymentMethodHandler,
        user_service=users.user_service,
        payment_providers=payment_providers,
    )
