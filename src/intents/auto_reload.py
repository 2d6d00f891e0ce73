"""The auto-reload process, run by the ``auto_reload.charge`` job.

1. plan (reads): is a reload due, and whose card? 2. ask the provider for the saved card.
3. commit the intent (invoice + pending payment) or find the one a previous run committed.
4. call the provider with the payment id as idempotency key, after looking for the effect of a
   previous call (Stripe forgets keys after 24 hours, localstripe ignores them).
5. record the outcome: paid → captured at once; refused → failed and counted; open → in flight.
No transaction is open during 2 and 4. A crash anywhere is retried by the job engine, and the
retry converges on the same single payment (or none); the janitor resolves what is left.
"""

import logging
import uuid

from src.events.auto_reload_events import (
    AutoReloadIntentRequestedEvent,
    AutoReloadOutcomeReportedEvent,
    AutoReloadPlanRequestedEvent,
)
from src.events.token_results import AutoReloadAttempt
from src.intents.base import ProviderProcess
from src.intents.off_session import charge_saved_card

logger = logging.getLogger(__name__)
FLOW = "auto_reload"


class AutoReloadProcess(ProviderProcess):
    def run(self, user: uuid.UUID) -> AutoReloadAttempt:
        plan = self._dispatcher().emit(AutoReloadPlanRequestedEvent(user_id=user)).data
        if plan.skip_reason is not None:
            return AutoReloadAttempt("skipped", plan.skip_reason)
        provider = self._providers.get(plan.provider)
        card = provider.saved_payment_method(plan.customer_id) if plan.customer_id else None

        intent = self._dispatcher().emit(AutoReloadIntentRequestedEvent(user_id=user, card=card))
        if intent.data.attempt is not None or intent.data.start is None:
            return intent.data.attempt or AutoReloadAttempt("skipped", None)
        start, existing = intent.data.start, intent.data.existing
        assert existing is not None

        self._faults.reached(f"{FLOW}.before_provider_call")
        attempt = charge_saved_card(provider, start, existing, intent.data.resumed)
        self._faults.reached(f"{FLOW}.after_provider_call")

        outcome = self._dispatcher().emit(
            AutoReloadOutcomeReportedEvent(
                payment_id=start.payment_id,
                remote=attempt.remote,
                payment_intent_id=attempt.payment_intent_id,
                declined=attempt.declined,
                decline_code=attempt.decline_code,
            )
        )
        self._faults.reached(f"{FLOW}.after_outcome_commit")
        logger.info("auto-reload for %s: %s", user, outcome.data)
        return outcome.data
