"""The off-session charge of a renewal or upgrade invoice (run by the renewal process and
the plan-change route).

1. plan (reads): is the invoice still open, and whose saved card? 2. ask the provider for
   the saved card. 3. commit the intent (a pending payment under a start lease) or find the
   one a previous run committed. 4. call the provider with the payment id as idempotency key,
   after looking for the effect of a previous call. 5. record the outcome: paid → captured
   at once (the renewed period starts); refused → a failed attempt (dunning).
No transaction is open during 2 and 4; a crash anywhere converges on one payment.
"""

import logging
import uuid
from datetime import datetime

from src.clock import utc_now
from src.events.subscription_events import (
    LifecycleChargeIntentRequestedEvent,
    LifecycleChargeOutcomeReportedEvent,
    LifecycleChargePlannedEvent,
)
from src.events.subscription_results import ChargeResult
from src.intents.base import ProviderProcess
from src.intents.off_session import charge_saved_card

logger = logging.getLogger(__name__)
FLOW = "subscription_charge"


class SubscriptionChargeProcess(ProviderProcess):
    def run(self, invoice_id: uuid.UUID, as_of: datetime | None) -> ChargeResult:
        """``as_of``: the instant the charge is due at (run-due's --now); None for an upgrade
        charged at once."""
        plan = self._dispatcher().emit(LifecycleChargePlannedEvent(invoice_id=invoice_id)).data
        if plan.skip_reason is not None:
            return ChargeResult(invoice_id, "skipped", plan.skip_reason)
        provider = self._providers.get(plan.provider)
        card = provider.saved_payment_method(plan.customer_id) if plan.customer_id else None

        intent = (
            self._dispatcher()
            .emit(
                LifecycleChargeIntentRequestedEvent(invoice_id=invoice_id, card=card, as_of=as_of)
            )
            .data
        )
        if intent.result is not None:
            return intent.result
        start, existing = intent.start, intent.existing
        assert start is not None and existing is not None

        self._faults.reached(f"{FLOW}.before_provider_call")
        attempt = charge_saved_card(provider, start, existing, intent.resumed)
        self._faults.reached(f"{FLOW}.after_provider_call")

        reported = LifecycleChargeOutcomeReportedEvent(
            payment_id=start.payment_id,
            remote=attempt.remote,
            payment_intent_id=attempt.payment_intent_id,
            declined=attempt.declined,
            decline_code=attempt.decline_code,
            as_of=as_of or utc_now(),
        )
        outcome = self._dispatcher().emit(reported).data
        logger.info("charge of invoice %s: %s", invoice_id, outcome.outcome)
        return outcome
