"""The one place where objects are built (dependency-injector): the root container.

Each area's repositories, services and command handlers are built by its own container in
``src/containers/``; this root holds what every area shares (settings, the session, the unit
of work) and what spans them all: the command-handler registry (``providers.Dict`` keyed by
dotted event name), the notification listeners and the dispatcher routes receive through
``@inject``. Areas are passed the upstream areas they read, so arrows point one way.

Adding an area: a module in ``src/containers/``, one ``providers.Container(...)`` line below
(after the areas it reads, passing them in), and its handlers' entries in ``command_handlers``;
routes then inject ``Provide[Container.<area>.<provider>]``.

Everything is a ``Factory`` built per use and bound to the current request's session, except
the stateless shared clients (the Stripe client, the password hasher). Tests override
providers on ``app.container`` (e.g. ``app.container.billing.invoice_service``), never by
patching imports.
"""

from dependency_injector import containers, providers

from src.config import READ_BIND, Settings
from src.containers.auto_reload import AutoReloadContainer
from src.containers.billing import BillingContainer
from src.containers.catalog import CatalogContainer
from src.containers.jobs import JobsContainer
from src.containers.lifecycle import LifecycleContainer
from src.containers.payment_processes import PaymentProcessesContainer
from src.containers.payments import PaymentsContainer
from src.containers.provider_reports import ProviderReportsContainer
from src.containers.refunds import RefundsContainer
from src.containers.tokens import TokensContainer
from src.containers.users import UsersContainer
from src.events.dispatcher import ALL_NOTIFICATIONS, EventDispatcher
from src.events.unit_of_work import SqlAlchemyUnitOfWork
from src.extensions import db
from src.faults import NoFaults
from src.handlers.listeners import AuditLogListener, AutoReloadListener
from src.intents.auto_reload import AutoReloadProcess
from src.intents.invoice_cancel import InvoiceCancelProcess
from src.intents.invoice_expiry import InvoiceExpiryProcess
from src.intents.mark_paid import MarkPaidProcess
from src.intents.payment_start import PaymentStartProcess
from src.intents.payment_method import PaymentMethodSetupProcess
from src.intents.payment_verify import PaymentVerifyProcess
from src.intents.provider_reports import ProviderReportProcess
from src.intents.refund import RefundProcess
from src.intents.renewals import RenewalProcess
from src.intents.subscription_charge import SubscriptionChargeProcess
from src.intents.reconcile import ExpiryProcess, JanitorProcess, PaymentResolver
from src.repositories.health_repository import HealthRepository


def _session() -> object:
    """The request-scoped session proxy, looked up when a repository is built."""
    return db.session


def _read_engine() -> object:
    """The autocommit engine of the same database (``READ_BIND``), for one-statement reads."""
    return db.engines[READ_BIND]


class Container(containers.DeclarativeContainer):
    wiring_config = containers.WiringConfiguration(packages=["src.routes", "src.cli"])
    __self__ = providers.Self()

    settings = providers.Dependency(instance_of=Settings)
    session = providers.Callable(_session)
    read_engine = providers.Callable(_read_engine)
    # The SQLAlchemy URL the app resolved (the job engine's worker connects to it too).
    database_url = providers.Dependency(instance_of=str)
    unit_of_work = providers.Factory(SqlAlchemyUnitOfWork, session=session)
    health_repository = providers.Factory(HealthRepository, session=session)

    # Areas, upstream first; each is given only the areas it reads.
    jobs = providers.Container(JobsContainer, session=session, database_url=database_url)
    users = providers.Container(
        UsersContainer, settings=settings, session=session, read_engine=read_engine
    )
    catalog = providers.Container(CatalogContainer, session=session)
    billing = providers.Container(
        BillingContainer, settings=settings, session=session, catalog=catalog
    )
    tokens = providers.Container(
        TokensContainer,
        session=session,
        autocommit_engine=read_engine,
        users=users,
        catalog=catalog,
        billing=billing,
        jobs=jobs,
    )
    payments = providers.Container(
        PaymentsContainer,
        settings=settings,
        session=session,
        users=users,
        catalog=catalog,
        billing=billing,
        tokens=tokens,
        jobs=jobs,
    )

    auto_reload = providers.Container(
        AutoReloadContainer,
        settings=settings,
        users=users,
        catalog=catalog,
        billing=billing,
        tokens=tokens,
        payments=payments,
    )
    provider_reports = providers.Container(
        ProviderReportsContainer,
        session=session,
        billing=billing,
        catalog=catalog,
        tokens=tokens,
        payments=payments,
    )
    refunds = providers.Container(
        RefundsContainer, settings=settings, billing=billing, payments=payments, jobs=jobs
    )
    lifecycle = providers.Container(
        LifecycleContainer,
        settings=settings,
        users=users,
        catalog=catalog,
        billing=billing,
        payments=payments,
    )
    payment_processes = providers.Container(
        PaymentProcessesContainer,
        settings=settings,
        users=users,
        catalog=catalog,
        billing=billing,
        payments=payments,
    )

    # Command handlers, by event name (dict form: the keys are dotted)
    command_handlers = providers.Dict(
        {
            "user.registration_requested": users.register_user_handler.provider,
            "user.login_requested": users.login_handler.provider,
            "checkout.requested": lifecycle.checkout_handler.provider,
            "subscriptions.due_listed": lifecycle.list_due_handler.provider,
            "subscription.renewal_requested": lifecycle.renew_handler.provider,
            "subscription.retry_requested": lifecycle.retry_handler.provider,
            "subscription.charge_planned": lifecycle.plan_charge_handler.provider,
            "subscription.charge_intent_requested": lifecycle.open_charge_handler.provider,
            "subscription.charge_outcome_reported": lifecycle.record_charge_handler.provider,
            "subscription.cancel_requested": lifecycle.cancel_handler.provider,
            "subscription.resume_requested": lifecycle.resume_handler.provider,
            "subscription.change_requested": lifecycle.change_handler.provider,
            "invoice.cancellation_requested": payment_processes.cancel_invoice_handler.provider,
            "invoices.abandoned_listed": payment_processes.list_abandoned_invoices_handler.provider,
            "invoice.expiry_requested": payment_processes.expire_invoice_handler.provider,
            "invoice.mark_paid_checked": payment_processes.check_mark_paid_handler.provider,
            "payment.captured": payments.payment_captured_handler.provider,
            "payment.failure_reported": payments.payment_failure_handler.provider,
            "payment.refund_reported": provider_reports.refund_reported_handler.provider,
            "payment.dispute_opened": provider_reports.dispute_opened_handler.provider,
            "payment.dispute_closed": provider_reports.dispute_closed_handler.provider,
            "payment.start_requested": payment_processes.start_payment_handler.provider,
            "payment.customer_recorded": payment_processes.record_customer_handler.provider,
            "payment.start_reported": payment_processes.record_payment_start_handler.provider,
            "payment.cancellation_recorded": (
                payment_processes.record_payment_cancellation_handler.provider
            ),
            "payment.start_lease_requested": (
                payment_processes.lease_unstarted_payment_handler.provider
            ),
            "payment.verification_requested": payment_processes.verify_payment_handler.provider,
            "payment.verification_reported": (
                payment_processes.record_verification_handler.provider
            ),
            "payment.refund_requested": refunds.request_handler.provider,
            "refund.resume_requested": refunds.resume_handler.provider,
            "refund.outcome_reported": refunds.record_outcome_handler.provider,
            "refund.retry_requested": refunds.retry_handler.provider,
            "refund.attempt_released": refunds.release_attempt_handler.provider,
            "refunds.requested_listed": refunds.list_requested_handler.provider,
            "payments.open_listed": payments.list_open_payments_handler.provider,
            "payment.resolution_reported": payments.resolve_payment_handler.provider,
            "payment_method.setup_requested": payments.setup_payment_method_handler.provider,
            "tokens.consume_requested": tokens.consume_tokens_handler.provider,
            "tokens.usage_refund_requested": tokens.refund_usage_handler.provider,
            "tokens.hold_requested": tokens.place_hold_handler.provider,
            "tokens.hold_settlement_requested": tokens.settle_hold_handler.provider,
            "tokens.hold_release_requested": tokens.release_hold_handler.provider,
            "tokens.expired_holds_release_requested": (
                tokens.release_expired_holds_handler.provider
            ),
            "tokens.adjustment_requested": tokens.adjust_tokens_handler.provider,
            "auto_reload.configuration_requested": tokens.configure_auto_reload_handler.provider,
            "auto_reload.plan_requested": auto_reload.plan_handler.provider,
            "auto_reload.intent_requested": auto_reload.open_handler.provider,
            "auto_reload.outcome_reported": auto_reload.record_outcome_handler.provider,
            "auto_reload.payment_failed": tokens.auto_reload_payment_failed_handler.provider,
            "maintenance.retention_requested": jobs.retention_handler.provider,
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

    dispatcher = providers.Factory(
        EventDispatcher,
        unit_of_work=unit_of_work.provider,
        command_handlers=command_handlers,
        listeners=listeners,
    )

    # Provider intents: command, provider call with no transaction open, command. The fault
    # points do nothing unless a test overrides them (src/faults.py).
    fault_points = providers.Singleton(NoFaults)
    payment_resolver = providers.Factory(
        PaymentResolver,
        dispatcher_factory=dispatcher.provider,
        payment_providers=payments.payment_providers,
        fault_points=fault_points,
    )
    expiry_process = providers.Factory(
        ExpiryProcess, dispatcher_factory=dispatcher.provider, resolver=payment_resolver
    )
    auto_reload_process = providers.Factory(
        AutoReloadProcess,
        dispatcher_factory=dispatcher.provider,
        payment_providers=payments.payment_providers,
        fault_points=fault_points,
    )
    subscription_charge_process = providers.Factory(
        SubscriptionChargeProcess,
        dispatcher_factory=dispatcher.provider,
        payment_providers=payments.payment_providers,
        fault_points=fault_points,
    )
    renewal_process = providers.Factory(
        RenewalProcess,
        dispatcher_factory=dispatcher.provider,
        charge_process=subscription_charge_process,
    )
    payment_start_process = providers.Factory(
        PaymentStartProcess,
        dispatcher_factory=dispatcher.provider,
        payment_providers=payments.payment_providers,
        fault_points=fault_points,
    )
    invoice_cancel_process = providers.Factory(
        InvoiceCancelProcess,
        dispatcher_factory=dispatcher.provider,
        payment_providers=payments.payment_providers,
    )
    invoice_expiry_process = providers.Factory(
        InvoiceExpiryProcess,
        dispatcher_factory=dispatcher.provider,
        payment_providers=payments.payment_providers,
        fault_points=fault_points,
    )
    mark_paid_process = providers.Factory(
        MarkPaidProcess,
        dispatcher_factory=dispatcher.provider,
        payment_providers=payments.payment_providers,
    )
    payment_method_setup_process = providers.Factory(
        PaymentMethodSetupProcess,
        dispatcher_factory=dispatcher.provider,
        payment_providers=payments.payment_providers,
    )
    payment_verify_process = providers.Factory(
        PaymentVerifyProcess,
        dispatcher_factory=dispatcher.provider,
        payment_providers=payments.payment_providers,
    )
    provider_report_process = providers.Factory(
        ProviderReportProcess, payment_providers=payments.payment_providers
    )
    refund_process = providers.Factory(
        RefundProcess,
        dispatcher_factory=dispatcher.provider,
        payment_providers=payments.payment_providers,
        fault_points=fault_points,
    )
    janitor_process = providers.Factory(
        JanitorProcess,
        dispatcher_factory=dispatcher.provider,
        resolver=payment_resolver,
        refund_process=refund_process,
        after_minutes=settings.provided.JANITOR_AFTER_MINUTES,
    )
