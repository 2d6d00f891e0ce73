"""The real services and handlers wired over the fakes, as src/container.py wires them over SQL."""

import uuid
from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher

from src.events.base import EventResult
from src.events.checkout_events import CheckoutRequestedEvent
from src.events.checkout_results import CheckoutOutcome
from src.events.payment_events import PaymentCapturedEvent
from src.handlers.checkout_handlers import CheckoutHandler
from src.handlers.payment_handlers import (
    PaymentCapturedHandler,
    PaymentFailureHandler,
)
from src.handlers.provider_refund_handlers import ProviderRefundReportedHandler
from src.models.addon import AddOn
from src.models.invoice import Invoice
from src.models.plan import Plan
from src.models.token_bundle import TokenBundle
from src.models.user import User, UserRole
from src.providers.base import PaymentProviders
from src.providers.manual import ManualProvider
from src.services.addon_service import AddOnService
from src.services.capture_service import CaptureService
from src.services.one_statement_capture import OneStatementCapture
from src.services.grant_reversal_service import GrantReversalService
from src.services.idempotency_service import IdempotencyService
from src.services.invoice_service import InvoiceService
from src.services.payment_service import PaymentService
from src.services.plan_service import PlanService
from src.services.subscription_service import SubscriptionService
from src.services.token_bundle_service import TokenBundleService
from src.services.token_service import TokenService
from src.services.unapplied_payment_service import UnappliedPaymentService
from src.services.user_service import UserService
from src.services.webhook_event_service import WebhookEventService
from tests.unit.catalog_builders import CatalogRows
from tests.unit.fakes import (
    FakeAddOnSubscriptionRepository,
    FakeApiKeyRepository,
    FakeAutoReloadRepository,
    FakeBundleCaptures,
    FakeCatalogRepository,
    FakeIdempotencyKeyRepository,
    FakeInvoiceRepository,
    FakeJobQueue,
    FakeSavepoints,
    FakePaymentProvider,
    FakePaymentRepository,
    FakePurchaseRepository,
    FakeSubscriptionRepository,
    FakeTokenRepository,
    FakeUsageRepository,
    FakeUserRepository,
    FakeWebhookEventRepository,
)
from tests.unit.payment_process_builders import PaymentProcesses
from tests.unit.usage_builders import PayPerUse

PAYER = uuid.UUID("00000000-0000-4000-8000-0000000000c1")
EXPIRY_MINUTES = 30


def paying(invoice: Invoice, **fields: Any) -> PaymentCapturedEvent:
    """A capture of ``invoice``'s full total by payment "pay_1" of "webhook", unless told."""
    values: dict[str, Any] = {
        "invoice_id": invoice.id,
        "payment_reference": "pay_1",
        "provider": "webhook",
        "amount": invoice.total_amount,
        "currency": invoice.currency,
    }
    return PaymentCapturedEvent(**{**values, **fields})


@dataclass
class Billing(CatalogRows, PayPerUse, PaymentProcesses):
    """Every fake repository of a checkout, a payment, a refund and pay-per-use, the services
    built on them, and ``provider``: the scripted provider every provider-facing handler talks
    to (beside the real ManualProvider)."""

    plans: FakeCatalogRepository[Plan] = field(default_factory=FakeCatalogRepository)
    bundles: FakeCatalogRepository[TokenBundle] = field(default_factory=FakeCatalogRepository)
    add_ons: FakeCatalogRepository[AddOn] = field(default_factory=FakeCatalogRepository)
    subscriptions: FakeSubscriptionRepository = field(default_factory=FakeSubscriptionRepository)
    purchases: FakePurchaseRepository = field(default_factory=FakePurchaseRepository)
    addon_subscriptions: FakeAddOnSubscriptionRepository = field(
        default_factory=FakeAddOnSubscriptionRepository
    )
    invoices: FakeInvoiceRepository = field(default_factory=FakeInvoiceRepository)
    keys: FakeIdempotencyKeyRepository = field(default_factory=FakeIdempotencyKeyRepository)
    tokens: FakeTokenRepository = field(default_factory=FakeTokenRepository)
    payments: FakePaymentRepository = field(default_factory=FakePaymentRepository)
    users: FakeUserRepository = field(default_factory=FakeUserRepository)
    webhook_events: FakeWebhookEventRepository = field(default_factory=FakeWebhookEventRepository)
    usages: FakeUsageRepository = field(default_factory=FakeUsageRepository)
    api_keys: FakeApiKeyRepository = field(default_factory=FakeApiKeyRepository)
    auto_reloads: FakeAutoReloadRepository = field(default_factory=FakeAutoReloadRepository)
    job_queue: FakeJobQueue = field(default_factory=FakeJobQueue)
    savepoints: FakeSavepoints = field(default_factory=FakeSavepoints)
    bundle_captures: FakeBundleCaptures = field(default_factory=FakeBundleCaptures)
    auto_refund_unapplied: bool = True
    provider: FakePaymentProvider = field(default_factory=FakePaymentProvider)

    def __post_init__(self) -> None:
        if self.addon_subscriptions.parents is None:  # what the ORM's relationship would load
            self.addon_subscriptions.parents = self.subscriptions

    # -- services ------------------------------------------------------------------------

    def subscription_service(self) -> SubscriptionService:
        return SubscriptionService(subscriptions=self.subscriptions)

    def add_on_service(self) -> AddOnService:
        return AddOnService(add_ons=self.add_ons, addon_subscriptions=self.addon_subscriptions)

    def invoice_service(self) -> InvoiceService:
        return InvoiceService(invoices=self.invoices)

    def idempotency_service(self) -> IdempotencyService:
        return IdempotencyService(keys=self.keys)

    def token_bundle_service(self) -> TokenBundleService:
        return TokenBundleService(bundles=self.bundles, purchases=self.purchases)

    def token_service(self) -> TokenService:
        return TokenService(tokens=self.tokens)

    def payment_service(self) -> PaymentService:
        return PaymentService(payments=self.payments)

    def user_service(self) -> UserService:
        cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        return UserService(users=self.users, password_hasher=cheap)

    def webhook_event_service(self) -> WebhookEventService:
        return WebhookEventService(events=self.webhook_events)

    def payment_providers(self) -> PaymentProviders:
        return PaymentProviders({self.provider.name: self.provider, "manual": ManualProvider()})

    def capture_service(self) -> CaptureService:
        """Wired as src/containers/payments.py's ``capture_service``."""
        return CaptureService(
            invoice_service=self.invoice_service(),
            subscription_service=self.subscription_service(),
            token_bundle_service=self.token_bundle_service(),
            token_service=self.token_service(),
            add_on_service=self.add_on_service(),
            payment_service=self.payment_service(),
            user_service=self.user_service(),
            savepoints=self.savepoints,
            unapplied_payment_service=self.unapplied_payment_service(),
            bundle_captures=self.bundle_captures,
        )

    def unapplied_payment_service(self) -> UnappliedPaymentService:
        """Wired as src/containers/payments.py's ``unapplied_payment_service``."""
        return UnappliedPaymentService(
            payment_service=self.payment_service(),
            job_queue=self.job_queue,
            payment_providers=self.payment_providers(),
            auto_refund=self.auto_refund_unapplied,
        )

    def grant_reversal_service(self) -> GrantReversalService:
        return GrantReversalService(
            token_service=self.token_service(),
            token_bundle_service=self.token_bundle_service(),
            subscription_service=self.subscription_service(),
            add_on_service=self.add_on_service(),
        )

    # -- command handlers, as the container registers them -------------------------------

    def payment_captured_handler(self) -> PaymentCapturedHandler:
        return PaymentCapturedHandler(
            one_statement=OneStatementCapture(self.bundle_captures),
            capture_service=self.capture_service,
            invoice_service=self.invoice_service(),
            webhook_event_service=self.webhook_event_service(),
        )

    def payment_failure_handler(self) -> PaymentFailureHandler:
        return PaymentFailureHandler(self.payment_service(), self.webhook_event_service())

    def refund_reported_handler(self) -> ProviderRefundReportedHandler:
        return ProviderRefundReportedHandler(
            self.payment_service(),
            self.invoice_service(),
            self.webhook_event_service(),
            self.grant_reversal_service(),
        )

    def checkout_handler(self) -> CheckoutHandler:
        return CheckoutHandler(
            plan_service=PlanService(plans=self.plans),
            subscription_service=self.subscription_service(),
            token_bundle_service=self.token_bundle_service(),
            add_on_service=self.add_on_service(),
            invoice_service=self.invoice_service(),
            idempotency_service=self.idempotency_service(),
        )

    # -- rows ----------------------------------------------------------------------------

    def checkout(self, user_id: uuid.UUID, **fields: Any) -> EventResult[CheckoutOutcome]:
        """Handle one checkout command (the dispatcher's transaction is not involved)."""
        return self.checkout_handler().handle(CheckoutRequestedEvent(user_id=user_id, **fields))

    def pending_invoice(self, user_id: uuid.UUID, **fields: Any) -> Invoice:
        """The stored invoice of one checkout (plan_id=..., token_bundle_ids=..., ...)."""
        invoice_id = self.checkout(user_id, **fields).data.result.invoice.id
        return self.invoices.rows[invoice_id]

    def user(
        self,
        user_id: uuid.UUID = PAYER,
        stripe_customer_id: str | None = None,
        trial_remaining: int = 0,
    ) -> User:
        """An account (the password hash is never checked here)."""
        return self.users.add(
            User(
                id=user_id,
                email=f"{user_id.hex[-6:]}@example.com",
                password_hash="not-a-hash",
                role=UserRole.USER,
                stripe_customer_id=stripe_customer_id,
                trial_remaining=trial_remaining,
            )
        )

    def row_counts(self) -> dict[str, int]:
        return {
            "subscriptions": len(self.subscriptions.rows),
            "purchases": len(self.purchases.rows),
            "addon_subscriptions": len(self.addon_subscriptions.rows),
            "invoices": len(self.invoices.rows),
            "idempotency_keys": len(self.keys.rows),
            "token_balances": len(self.tokens.balances),
            "token_transactions": len(self.tokens.transactions),
            "payments": len(self.payments.rows),
            "payment_status_changes": len(self.payments.changes),
            "payment_refunds": len(self.payments.refunds),
            "webhook_events": len(self.webhook_events.rows),
        }
