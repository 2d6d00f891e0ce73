"""The real services and handlers wired over the fakes, as src/container.py wires them over SQL."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from src.events.base import EventResult
from src.events.checkout_events import CheckoutRequestedEvent
from src.events.payment_events import PaymentCapturedEvent
from src.handlers.checkout_handlers import CheckoutHandler
from src.handlers.payment_handlers import PaymentCapturedHandler
from src.models.addon import AddOn, AddOnSubscription
from src.models.invoice import Invoice
from src.models.plan import BillingPeriod, Plan
from src.models.subscription import Subscription, SubscriptionStatus
from src.models.token_bundle import TokenBundle
from src.schemas.checkout import CheckoutOutcome
from src.services.addon_service import AddOnService
from src.services.idempotency_service import IdempotencyService
from src.services.invoice_service import InvoiceService
from src.services.payment_service import PaymentService
from src.services.plan_service import PlanService
from src.services.subscription_service import SubscriptionService
from src.services.token_bundle_service import TokenBundleService
from src.services.token_service import TokenService
from tests.unit.fakes import (
    FakeAddOnSubscriptionRepository,
    FakeCatalogRepository,
    FakeIdempotencyKeyRepository,
    FakeInvoiceRepository,
    FakePaymentRepository,
    FakePurchaseRepository,
    FakeSubscriptionRepository,
    FakeTokenRepository,
)

PAYER = uuid.UUID("00000000-0000-4000-8000-0000000000c1")


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
class Billing:
    """Every fake repository of a checkout and a capture, and the services built on them."""

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

    def __post_init__(self) -> None:
        if self.addon_subscriptions.parents is None:  # what the ORM's relationship would load
            self.addon_subscriptions.parents = self.subscriptions

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

    def payment_captured_handler(self) -> PaymentCapturedHandler:
        """Wired as src/container.py's ``payment_captured_handler``."""
        return PaymentCapturedHandler(
            invoice_service=self.invoice_service(),
            subscription_service=self.subscription_service(),
            token_bundle_service=self.token_bundle_service(),
            token_service=self.token_service(),
            add_on_service=self.add_on_service(),
            payment_service=self.payment_service(),
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

    def checkout(self, user_id: uuid.UUID, **fields: Any) -> EventResult[CheckoutOutcome]:
        """Handle one checkout command (the dispatcher's transaction is not involved)."""
        return self.checkout_handler().handle(CheckoutRequestedEvent(user_id=user_id, **fields))

    def pending_invoice(self, user_id: uuid.UUID, **fields: Any) -> Invoice:
        """The stored invoice of one checkout (plan_id=..., token_bundle_ids=..., ...)."""
        invoice_id = self.checkout(user_id, **fields).data.response.invoice.id
        return self.invoices.rows[invoice_id]

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
        }

    def plan(
        self,
        price: str = "49.00",
        currency: str = "USD",
        active: bool = True,
        name: str = "Pro",
        period: BillingPeriod = BillingPeriod.MONTHLY,
    ) -> Plan:
        return self.plans.add(
            Plan(
                code=f"plan-{uuid.uuid4().hex[:8]}",
                name=name,
                price=Decimal(price),
                currency=currency,
                billing_period=period,
                is_active=active,
            )
        )

    def bundle(
        self, tokens: int = 50, price: str = "49.00", currency: str = "USD", active: bool = True
    ) -> TokenBundle:
        return self.bundles.add(
            TokenBundle(
                code=f"bundle-{uuid.uuid4().hex[:8]}",
                name=f"{tokens} Tokens",
                token_amount=tokens,
                price=Decimal(price),
                currency=currency,
                is_active=active,
            )
        )

    def add_on(
        self,
        price: str = "9.00",
        currency: str = "USD",
        active: bool = True,
        name: str = "Support",
        period: BillingPeriod = BillingPeriod.YEARLY,
    ) -> AddOn:
        return self.add_ons.add(
            AddOn(
                code=f"addon-{uuid.uuid4().hex[:8]}",
                name=name,
                price=Decimal(price),
                currency=currency,
                billing_period=period,
                is_active=active,
            )
        )

    def subscription(
        self,
        user_id: uuid.UUID,
        status: SubscriptionStatus,
        plan: Plan | None = None,
        expires_at: datetime | None = None,
    ) -> Subscription:
        """A subscription already in the store (e.g. activated by an earlier payment)."""
        plan = plan or self.plan()
        return self.subscriptions.add(
            Subscription(
                user_id=user_id, plan_id=plan.id, plan=plan, status=status, expires_at=expires_at
            )
        )

    def addon_subscription(
        self,
        parent: Subscription,
        add_on: AddOn | None = None,
        status: SubscriptionStatus = SubscriptionStatus.PENDING,
    ) -> AddOnSubscription:
        add_on = add_on or self.add_on()
        return self.addon_subscriptions.add(
            AddOnSubscription(
                user_id=parent.user_id,
                addon_id=add_on.id,
                add_on=add_on,
                subscription_id=parent.id,
                subscription=parent,
                status=status,
            )
        )
