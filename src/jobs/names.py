"""Task and queue names: what a command defers by, without importing the tasks themselves."""

# Periodic work and provider work run on separate queues, so a backlog of one never delays
# the other; a worker serves every queue unless told otherwise.
SCHEDULED_QUEUE = "scheduled"
PROVIDER_QUEUE = "provider"

AUTO_RELOAD_TASK = "auto_reload.charge"
REFUND_TASK = "refund.execute"
# Money a provider confirmed that its invoice could not take, refunded in full.
REFUND_UNAPPLIED_TASK = "payment.refund_unapplied"
RETRY_STALLED_TASK = "jobs.retry_stalled"
REMOVE_OLD_JOBS_TASK = "jobs.remove_old"
