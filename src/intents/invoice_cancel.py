"""Cancelling an invoice (``POST /user/invoices/<id>/cancel``) around the provider calls.

1. a command locks the invoice, checks it can be cancelled, and answers its open payments;
2. each is stopped at its provider with no transaction open. A provider that refuses (it
   already moves or moved the money: a confirmed intent, a ``complete`` Checkout Session)
   is asked where the payment stands and that is recorded: succeeded → captured, as its
   webhook would (the invoice is paid, and the cancel is answered 409
   ``invoice_not_cancellable``); otherwise 409 ``payment_in_progress`` and the invoice stays
   pending. An invoice is never cancelled while the provider may still take its money;
3. the same command, told which payments were stopped, records them CANCELLED and, once no
   payment is open, cancels the invoice and its items. A payment started meanwhile by
   another request is answered in turn and stopped the same way.
"""

import logging
import uuid

from src.errors import ApiError, Conflict, InvalidState
from src.events.invoice_events import InvoiceCancellationRequestedEvent
from src.events.invoice_results import InvoiceSnapshot
from src.intents.base import ProviderProcess
from src.intents.stopping import refused_as_in_progress, settle_refused_stop, stop_at_provider

logger = logging.getLogger(__name__)
FLOW = "invoice_cancel"
MAX_ROUNDS = 5


class InvoiceCancelProcess(ProviderProcess):
    def run(self, user_id: uuid.UUID, invoice_id: uuid.UUID) -> InvoiceSnapshot:
        stopped: tuple[uuid.UUID, ...] = ()
        for _ in range(MAX_ROUNDS):
            plan = (
                self._dispatcher()
                .emit(
                    InvoiceCancellationRequestedEvent(
                        user_id=user_id, invoice_id=invoice_id, stopped=stopped
                    )
                )
                .data
            )
            if plan.snapshot is not None:
                return plan.snapshot
            if plan.refused:
                raise InvalidState(
                    "A payment of this invoice is being processed; it cannot be cancelled now.",
                    code="payment_in_progress",
                )
            done: list[uuid.UUID] = []
            try:
                for payment in plan.to_stop:
                    provider = self._providers.get(payment.provider)
                    try:
                        stop_at_provider(provider, payment.existing)
                    except ApiError as refused:
                        if not refused_as_in_progress(refused):
                            raise
                        self._record_stopped(user_id, invoice_id, tuple(done))
                        done = []
                        if not settle_refused_stop(
                            self._dispatcher, provider, payment.payment_id, payment.existing, FLOW
                        ):
                            raise
                        break  # paid meanwhile: the next round answers the paid invoice
                    done.append(payment.payment_id)
            except ApiError:
                self._record_stopped(user_id, invoice_id, tuple(done))
                raise
            stopped = tuple(done)
        raise Conflict(
            "This invoice's payments keep changing; try again.", code="payment_contended"
        )

    def _record_stopped(
        self, user_id: uuid.UUID, invoice_id: uuid.UUID, stopped: tuple[uuid.UUID, ...]
    ) -> None:
        """The payments stopped before one was refused are recorded cancelled (they can no
        longer complete at their provider); the invoice stays pending, since one is open."""
        if not stopped:
            return
        try:
            self._dispatcher().emit(
                InvoiceCancellationRequestedEvent(
                    user_id=user_id, invoice_id=invoice_id, stopped=stopped
                )
            )
        except ApiError as error:
            logger.warning("stopped payments of invoice %s not recorded: %s", invoice_id, error)
