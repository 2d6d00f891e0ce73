"""The commands of the user's payment processes: start a payment, cancel an invoice, verify.

Each process (src/intents/payment_start.py, invoice_cancel.py, payment_verify.py) runs these
commands around its provider calls, with no transaction open during a call; the processes
need the dispatcher, so the root container builds them. Reads billing (invoices, items),
catalog (purchases, add-ons), users (customers) and payments (records, capture).
"""

from dependency_injector import containers, providers

from src.config import Settings
from src.handlers.invoice_handlers import CancelInvoiceHandler
from src.handlers.invoice_expiry_handlers import ExpireInvoiceHandler, ListAbandonedInvoicesHandler
from src.handlers.mark_paid_handlers import CheckMarkPaidHandler
from src.handlers.payment_start_handlers import (
    LeaseUnstartedPaymentHandler,
    RecordCustomerHandler,
    RecordPaymentCancellationHandler,
    RecordPaymentStartHandler,
    StartPaymentHandler,
)
from src.handlers.payment_verify_handlers import RecordVerificationHandler, VerifyPaymentHandler


class PaymentProcessesContainer(containers.DeclarativeContainer):
    settings: providers.Dependency[Settings] = providers.Dependency(instance_of=Settings)
    users = providers.DependenciesContainer()
    catalog = providers.DependenciesContainer()
    billing = providers.DependenciesContainer()
    payments = providers.DependenciesContainer()

    # Start payment. The start lease outlives the provider call and the pool wait of its holder
    # (checked at start), so a lease that ran out means its holder is gone; a start repeated
    # after it carries the same idempotency key.
    start_payment_handler = providers.Factory(
        StartPaymentHandler,
        invoice_service=billing.invoice_service,
        payment_service=payments.payment_service,
        user_service=users.user_service,
        payment_providers=payments.payment_providers,
        expiry_minutes=settings.provided.PAYMENT_SESSION_EXPIRY_MINUTES,
        lease_seconds=settings.provided.PROVIDER_LEASE_SECONDS,
    )
    record_customer_handler = providers.Factory(
        RecordCustomerHandler, user_service=users.user_service
    )
    record_payment_start_handler = providers.Factory(
        RecordPaymentStartHandler, payment_service=payments.payment_service
    )
    record_payment_cancellation_handler = providers.Factory(
        RecordPaymentCancellationHandler, payment_service=payments.payment_service
    )
    lease_unstarted_payment_handler = providers.Factory(
        LeaseUnstartedPaymentHandler,
        payment_service=payments.payment_service,
        lease_seconds=settings.provided.PROVIDER_LEASE_SECONDS,
    )

    # Cancel an invoice
    cancel_invoice_handler = providers.Factory(
        CancelInvoiceHandler,
        invoice_service=billing.invoice_service,
        subscription_service=billing.subscription_service,
        token_bundle_service=catalog.token_bundle_service,
        add_on_service=catalog.add_on_service,
        payment_service=payments.payment_service,
    )

    # Expire an abandoned checkout invoice (src/intents/invoice_expiry.py)
    list_abandoned_invoices_handler = providers.Factory(
        ListAbandonedInvoicesHandler, invoice_service=billing.invoice_service
    )
    expire_invoice_handler = providers.Factory(
        ExpireInvoiceHandler,
        invoice_service=billing.invoice_service,
        subscription_service=billing.subscription_service,
        token_bundle_service=catalog.token_bundle_service,
        add_on_service=catalog.add_on_service,
        payment_service=payments.payment_service,
    )

    # An admin marks an invoice paid (its open provider payments first)
    check_mark_paid_handler = providers.Factory(
        CheckMarkPaidHandler,
        invoice_service=billing.invoice_service,
        payment_service=payments.payment_service,
    )

    # Verify a payment
    verify_payment_handler = providers.Factory(
        VerifyPaymentHandler, payment_service=payments.payment_service
    )
    record_verification_handler = providers.Factory(
        RecordVerificationHandler,
        payment_service=payments.payment_service,
        capture_service=payments.capture_service,
        invoice_service=billing.invoice_service,
    )
