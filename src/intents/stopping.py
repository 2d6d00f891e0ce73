"""Stopping an open payment at its provider, called with no transaction open.

A payment committed without provider ids (its request died before recording them) may still
exist at the provider: it is looked for by our payment id in metadata first, so the payment
actually created there is the one cancelled.

A provider that refuses to stop a payment (409 ``payment_in_progress``: a confirmed intent, a
``complete`` Checkout Session) already moves or moved the money: nothing may then open a
second way to pay the invoice. ``settle_refused_stop`` records what the provider says of it
(succeeded → captured, through the same capture as the webhook; processing → PROCESSING).
"""

import logging
import uuid
from collections.abc import Callable
from dataclasses import replace

from src.errors import ApiError, InvalidState
from src.events.dispatcher import EventDispatcher
from src.events.reconcile_events import PaymentResolutionReportedEvent
from src.providers.base import ExistingPayment, PaymentProvider, RemoteStatus

logger = logging.getLogger(__name__)
IN_PROGRESS = "payment_in_progress"


def stop_at_provider(provider: PaymentProvider, payment: ExistingPayment) -> None:
    """Make ``payment`` impossible to complete at ``provider``. Raises 409
    ``payment_in_progress`` when the provider already moves (or moved) the money."""
    if payment.payment_intent_id is None and payment.session_id is None:
        found = provider.fetch_payment(payment)
        if found.status is RemoteStatus.NOT_FOUND:
            return  # never started there: nothing to stop
        if found.payment_intent_id is not None:
            payment = replace(payment, payment_intent_id=found.payment_intent_id)
    provider.cancel_payment(payment)


def refused_as_in_progress(error: ApiError) -> bool:
    return isinstance(error, InvalidState) and error.code == IN_PROGRESS


def settle_refused_stop(
    dispatcher_factory: Callable[[], EventDispatcher],
    provider: PaymentProvider,
    payment_id: uuid.UUID,
    payment: ExistingPayment,
    source: str,
) -> bool:
    """After the provider refused to stop ``payment``: ask it where the payment stands and
    record that in a command of its own (no transaction is open during the call). True when
    the provider took the money and it is captured here (now or earlier); False when it is
    still moving, could not be asked, or its capture was refused (the caller answers 409)."""
    try:
        remote = provider.fetch_payment(payment)
    except ApiError as error:
        logger.warning("payment %s not looked up after a refused stop: %s", payment_id, error.code)
        return False
    event = PaymentResolutionReportedEvent(payment_id=payment_id, remote=remote, source=source)
    try:
        resolution = dispatcher_factory().emit(event).data
    except ApiError as error:
        logger.warning("payment %s not settled after a refused stop: %s", payment_id, error.code)
        return False
    return remote.status is RemoteStatus.SUCCEEDED and resolution in ("captured", "unchanged")
