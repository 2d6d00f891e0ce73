"""The admin refund's provider intent: commit it, resume it, record the outcome, defer a
retry, list what the janitor resolves.

Reads the payments area (payment records, the grant reversal), billing (the invoice) and jobs
(the retry is a job). The process that runs these commands around the provider call needs the
dispatcher, so the root container builds it (``refund_process``).

The attempt lease (PROVIDER_LEASE_SECONDS) outlives any single provider call and pool wait
(checked at start), so a lease that ran out means its holder is gone or far past every limit
it has; a refund attempted again then carries the same idempotency key.
"""

from dependency_injector import containers, providers

from src.config import Settings
from src.handlers.refund_handlers import (
    ListRequestedRefundsHandler,
    RecordRefundOutcomeHandler,
    ReleaseRefundAttemptHandler,
    RequestRefundHandler,
    ResumeRefundHandler,
    ScheduleRefundRetryHandler,
)
from src.services.refund_service import RefundService


class RefundsContainer(containers.DeclarativeContainer):
    settings: providers.Dependency[Settings] = providers.Dependency(instance_of=Settings)
    billing = providers.DependenciesContainer()
    payments = providers.DependenciesContainer()
    jobs = providers.DependenciesContainer()

    refund_service = providers.Factory(RefundService, payments=payments.payment_repository)

    request_handler = providers.Factory(
        RequestRefundHandler,
        payment_service=payments.payment_service,
        refund_service=refund_service,
        invoice_service=billing.invoice_service,
        grant_reversal_service=payments.grant_reversal_service,
        lease_seconds=settings.provided.PROVIDER_LEASE_SECONDS,
    )
    resume_handler = providers.Factory(
        ResumeRefundHandler,
        payment_service=payments.payment_service,
        refund_service=refund_service,
        invoice_service=billing.invoice_service,
        lease_seconds=settings.provided.PROVIDER_LEASE_SECONDS,
    )
    record_outcome_handler = providers.Factory(
        RecordRefundOutcomeHandler,
        payment_service=payments.payment_service,
        refund_service=refund_service,
        invoice_service=billing.invoice_service,
        grant_reversal_service=payments.grant_reversal_service,
    )
    retry_handler = providers.Factory(
        ScheduleRefundRetryHandler, refund_service=refund_service, job_queue=jobs.job_queue
    )
    release_attempt_handler = providers.Factory(
        ReleaseRefundAttemptHandler, refund_service=refund_service
    )
    list_requested_handler = providers.Factory(
        ListRequestedRefundsHandler, refund_service=refund_service
    )
