"""``invoices.expire_abandoned``: checkout invoices left unpaid for ``INVOICE_EXPIRY_DAYS``
expire, with what they would have bought, around the provider calls.

1. a command lists the due invoices (a bounded batch, oldest first);
2. per invoice, a command locks it, re-checks it is still due, and answers its open payments;
3. each is stopped at its provider with no transaction open, through the same stopping logic
   as a cancel (src/intents/stopping.py). A provider that refuses (it already moves or moved
   the money) is asked where the payment stands and that is recorded: succeeded → captured,
   as its webhook would (the invoice is paid, not expired); otherwise the invoice stays
   pending for a later run. A provider that cannot be reached leaves it for a later run too;
4. the same command, told which payments were stopped, records them CANCELLED and, once none
   is open, expires the invoice and its items.

Safe to run twice or concurrently: every step re-checks under the invoice's row lock, so each
invoice expires once. One invoice's trouble is logged and never stops the others.
"""

import logging
import uuid
from datetime import datetime, timedelta

from src.errors import ApiError
from src.events.invoice_expiry_events import (
    EXPIRY_BATCH,
    AbandonedInvoicesListedEvent,
    InvoiceExpiryPlan,
    InvoiceExpiryRequestedEvent,
)
from src.intents.base import ProviderProcess
from src.intents.stopping import refused_as_in_progress, settle_refused_stop, stop_at_provider

logger = logging.getLogger(__name__)
FLOW = "invoice_expiry"
MAX_ROUNDS = 5


class InvoiceExpiryProcess(ProviderProcess):
    def run(self, as_of: datetime, days: int, limit: int = EXPIRY_BATCH) -> int:
        """How many invoices expired as of ``as_of`` (paid or still moving ones are not)."""
        due = (
            self._dispatcher()
            .emit(
                AbandonedInvoicesListedEvent(
                    created_before=as_of - timedelta(days=days), limit=limit
                )
            )
            .data
        )
        expired = 0
        for invoice_id in due:
            try:
                if self._expire(invoice_id, as_of, days):
                    expired += 1
            except ApiError as error:
                logger.warning("invoice %s not expired: %s", invoice_id, error.code)
        return expired

    def _expire(self, invoice_id: uuid.UUID, as_of: datetime, days: int) -> bool:
        """True when this run expired the invoice. Open payments are stopped at their provider
        between two commands; a payment started meanwhile is answered in the next round."""
        stopped: tuple[uuid.UUID, ...] = ()
        for _ in range(MAX_ROUNDS):
            plan = self._request(invoice_id, as_of, days, stopped)
            if plan.outcome != "stop":
                return plan.outcome == "expired"
            done: list[uuid.UUID] = []
            for payment in plan.to_stop:
                provider = self._providers.get(payment.provider)
                try:
                    stop_at_provider(provider, payment.existing)
                except ApiError as refused:
                    # What was stopped is recorded; the refused payment stays open, so the
                    # invoice stays pending (paid, if the provider took the money).
                    self._request(invoice_id, as_of, days, tuple(done))
                    if refused_as_in_progress(refused):
                        settle_refused_stop(
                            self._dispatcher, provider, payment.payment_id, payment.existing, FLOW
                        )
                    else:
                        logger.warning(
                            "invoice %s: payment %s not stopped: %s",
                            invoice_id,
                            payment.payment_id,
                            refused.code,
                        )
                    return False
                done.append(payment.payment_id)
            stopped = tuple(done)
        logger.warning("invoice %s: its payments keep changing; left for a later run", invoice_id)
        return False

    def _request(
        self,
        invoice_id: uuid.UUID,
        as_of: datetime,
        days: int,
        stopped: tuple[uuid.UUID, ...],
    ) -> InvoiceExpiryPlan:
        command = InvoiceExpiryRequestedEvent(
            invoice_id=invoice_id, as_of=as_of, days=days, stopped=stopped
        )
        return self._dispatcher().emit(command).data
