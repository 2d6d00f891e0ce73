"""The subscription lifecycle: renewals, dunning, cancel, resume and plan changes, and the
checkout that may start a trial (it settles a nothing-to-pay invoice through capture).

Downstream of payments: a renewal's or an upgrade's charge is captured like any payment.
The processes that call the provider between these commands are built by the root
container (they need the dispatcher).
"""

from collections.abc import Callable
from datetime import datetime

from dependency_injector import containers, providers

from src.config import Settings
from src.events.base import Notification
from src.handlers.checkout_handlers import CheckoutHandler
from src.handlers.subscription_charge_handlers import (
    OpenLifecycleChargeHandler,
    PlanLifecycleChargeHandler,
    RecordLifecycleChargeHandler,
)
from src.handlers.subscription_handlers import (
    CancelSubscriptionHandler,
    ChangePlanHandler,
    ResumeSubscriptionHandler,
)
from src.handlers.subscription_renewal_handlers import (
    ListDueSubscriptionsHandler,
    RenewSubscriptionHandler,
    RetrySubscriptionHandler,
)
from src.models.invoice import Invoice
from src.models.subscription import Subscription, SubscriptionStatus
from src.services.capture_service import CaptureService
from src.services.dunning_service import DunningService
from src.services.free_settlement import settle_free_invoice
from src.services.renewal_service import RenewalService
from src.services.subscription_views import SubscriptionViews


def _ending(dunning_service: DunningService) -> Callable[[Subscription, datetime], None]:
    return lambda subscription, now: dunning_service.end_everything(
        subscription, SubscriptionStatus.EXPIRED, now
    )


def _free_settlement(
    capture_service: Callable[[], CaptureService],
) -> Callable[[Invoice], list[Notification]]:
    """The capture service is built only for an invoice with nothing to pay, not for every
    checkout (it is ten services deep)."""
    return lambda invoice: settle_free_invoice(capture_service(), invoice)


class LifecycleContainer(containers.DeclarativeContainer):
    settings: providers.Dependency[Settings] = providers.Dependency(instance_of=Settings)
    users = providers.DependenciesContainer()
    catalog = providers.DependenciesContainer()
    billing = providers.DependenciesContainer()
    payments = providers.DependenciesContainer()

    renewal_service = providers.Factory(
        RenewalService,
        invoice_service=billing.invoice_service,
        add_on_service=catalog.add_on_service,
    )
    dunning_service = providers.Factory(
        DunningService,
        subscription_service=billing.subscription_service,
        invoice_service=billing.invoice_service,
        add_on_service=catalog.add_on_service,
    )
    subscription_views = providers.Factory(
        SubscriptionViews,
        subscription_service=billing.subscription_service,
        renewal_service=renewal_service,
        add_on_service=catalog.add_on_service,
        invoice_service=billing.invoice_service,
    )
    settle_free = providers.Factory(
        _free_settlement, capture_service=payments.capture_service.provider
    )

    checkout_handler = providers.Factory(
        CheckoutHandler,
        plan_service=catalog.plan_service,
        subscription_service=billing.subscription_service,
        token_bundle_service=catalog.token_bundle_service,
        add_on_service=catalog.add_on_service,
        invoice_service=billing.invoice_service,
        idempotency_service=billing.idempotency_service,
        settle_free=settle_free,
        end_lapsed=providers.Factory(_ending, dunning_service=dunning_service),
    )

    # Time: what is due, the renewal at a period's end, a dunning retry
    list_due_handler = providers.Factory(
        ListDueSubscriptionsHandler, subscription_service=billing.subscription_service
    )
    renew_handler = providers.Factory(
        RenewSubscriptionHandler,
        subscription_service=billing.subscription_service,
        renewal_service=renewal_service,
        invoice_service=billing.invoice_service,
        dunning_service=dunning_service,
        settle_free=settle_free,
    )
    retry_handler = providers.Factory(
        RetrySubscriptionHandler,
        subscription_service=billing.subscription_service,
        invoice_service=billing.invoice_service,
    )

    # The off-session charge of a renewal or upgrade invoice
    plan_charge_handler = providers.Factory(
        PlanLifecycleChargeHandler,
        invoice_service=billing.invoice_service,
        user_service=users.user_service,
    )
    open_charge_handler = providers.Factory(
        OpenLifecycleChargeHandler,
        subscription_service=billing.subscription_service,
        invoice_service=billing.invoice_service,
        payment_service=payments.payment_service,
        user_service=users.user_service,
        dunning_service=dunning_service,
        expiry_minutes=settings.provided.PAYMENT_SESSION_EXPIRY_MINUTES,
        lease_seconds=settings.provided.PROVIDER_LEASE_SECONDS,
    )
    record_charge_handler = providers.Factory(
        RecordLifecycleChargeHandler,
        subscription_service=billing.subscription_service,
        invoice_service=billing.invoice_service,
        payment_service=payments.payment_service,
        capture_service=payments.capture_service,
        dunning_service=dunning_service,
    )

    # The customer's (or an admin's) requests
    cancel_handler = providers.Factory(
        CancelSubscriptionHandler,
        subscription_service=billing.subscription_service,
        invoice_service=billing.invoice_service,
        dunning_service=dunning_service,
        views=subscription_views,
    )
    resume_handler = providers.Factory(
        ResumeSubscriptionHandler,
        subscription_service=billing.subscription_service,
        invoice_service=billing.invoice_service,
        views=subscription_views,
    )
    change_handler = providers.Factory(
        ChangePlanHandler,
        subscription_service=billing.subscription_service,
        invoice_service=billing.invoice_service,
        plan_service=catalog.plan_service,
        renewal_service=renewal_service,
        views=subscription_views,
    )
