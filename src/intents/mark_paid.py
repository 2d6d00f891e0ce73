"""An admin settles an invoice by hand (``POST /admin/invoices/<id>/mark-paid``) while a
provider payment of it may be open.

1. a command locks the invoice and answers its open provider payments;
2. none → the manual capture (``payment.captured``, no amount: in full), as before;
3. some, without ``force`` → 409 ``payment_in_progress`` (the customer may be paying now);
4. with ``force``, each is stopped at its provider with no transaction open, then recorded
   CANCELLED by the same command, and the invoice is captured once none is open. A provider
   that refuses to stop one (it moves or moved the money) → what it says is recorded (a
   success is captured, so the manual capture then answers 409 ``invoice_already_paid``),
   otherwise 409 ``payment_in_progress`` even when forced: only its outcome can end it.
A provider payment started between the last check and the capture, and paid later, reaches
capture like any other confirmation (the invoice is then paid: ``requires_refund``).
"""

import logging
import uuid

from src.errors import ApiError, Conflict, InvalidState
from src.events.mark_paid_events import MarkPaidCheckRequestedEvent
from src.events.payment_events import PaymentCapturedEvent
from src.events.payment_results import CaptureOutcome
from src.events.payment_start_events import PaymentToStop
from src.intents.base import ProviderProcess
from src.intents.stopping import refused_as_in_progress, settle_refused_stop, stop_at_provider

logger = logging.getLogger(__name__)
FLOW = "mark_paid"
MAX_ROUNDS = 5


class MarkPaidProcess(ProviderProcess):
    def run(self, capture: PaymentCapturedEvent, force: bool = False) -> CaptureOutcome:
        stopped: tuple[uuid.UUID, ...] = ()
        for _ in range(MAX_ROUNDS):
            plan = (
                self._dispatcher()
                .emit(MarkPaidCheckRequestedEvent(invoice_id=capture.invoice_id, stopped=stopped))
                .data
            )
            if not plan.to_stop:
                return self._dispatcher().emit(capture).data
            if plan.in_progress:
                raise InvalidState(
                    "A provider payment of this invoice is being processed; wait for its "
                    "outcome.",
                    code="payment_in_progress",
                )
            if not force:
                raise InvalidState(
                    'This invoice has an open provider payment; send "force": true to cancel '
                    "it at the provider and mark the invoice paid.",
                    code="payment_in_progress",
                    details={"payment_ids": [str(p.payment_id) for p in plan.to_stop]},
                )
            stopped = self._stop(capture.invoice_id, plan.to_stop)
        raise Conflict(
            "This invoice's payments keep changing; try again.", code="payment_contended"
        )

    def _stop(
        self, invoice_id: uuid.UUID, to_stop: tuple[PaymentToStop, ...]
    ) -> tuple[uuid.UUID, ...]:
        """Stop each at its provider; the ids stopped, or () when one was paid meanwhile."""
        done: list[uuid.UUID] = []
        try:
            for payment in to_stop:
                provider = self._providers.get(payment.provider)
                try:
                    stop_at_provider(provider, payment.existing)
                except ApiError as refused:
                    if not refused_as_in_progress(refused):
                        raise
                    self._record_stopped(invoice_id, tuple(done))
                    done = []
                    if not settle_refused_stop(
                        self._dispatcher, provider, payment.payment_id, payment.existing, FLOW
                    ):
                        raise
                    return ()  # paid by the provider meanwhile: capture answers next round
                done.append(payment.payment_id)
        except ApiError:
            self._record_stopped(invoice_id, tuple(done))
            raise
        return tuple(done)

    def _record_stopped(self, invoice_id: uuid.UUID, stopped: tuple[uuid.UUID, ...]) -> None:
        """The payments stopped before one was refused are recorded cancelled."""
        if not stopped:
            return
        try:
            self._dispatcher().emit(
                MarkPaidCheckRequestedEvent(invoice_id=invoice_id, stopped=stopped)
            )
        except ApiError as error:
            logger.warning("stopped payments of invoice %s not recorded: %s", invoice_id, error)
