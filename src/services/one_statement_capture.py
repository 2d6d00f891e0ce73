"""The common capture as one statement, with nothing else to build: a confirmed payment of a
checkout of token bundles alone, paid in full, with no payment of ours started for it (the
generic webhook's usual case; src/repositories/bundle_capture_repository.py).

Apart from ``CaptureService`` because that service is built from ten others (about 125 us
per capture, 8 % of the webhook's instructions) that only the full path uses: the webhook's
handler tries this first and builds the service only when the statement leaves the capture
to it. ``CaptureService.capture`` tries it first too, so every path settles the same way.
"""

import uuid

from src.clock import utc_now
from src.events.base import Notification
from src.events.payment_events import InvoicePaidEvent, TokensCreditedEvent
from src.events.payment_results import CaptureOutcome
from src.money import from_minor_units, to_minor_units
from src.repositories.bundle_capture_repository import BundleCaptureRequest
from src.services.capture_request import CaptureRequest
from src.services.ports import BundleCaptureRepositoryPort


class OneStatementCapture:
    """All of a bundles-only capture or nothing, in one round trip; whatever the statement
    leaves (None) takes ``CaptureService.capture_in_full``, which alone refuses money."""

    def __init__(self, bundle_captures: BundleCaptureRepositoryPort) -> None:
        self._statement = bundle_captures

    def settle(self, request: CaptureRequest) -> tuple[CaptureOutcome, list[Notification]] | None:
        """The capture in one statement, or None: the full path decides.

        Only for a provider's confirmation with nothing of ours attached: no payment we
        started (``complete`` would move it), no customer to remember, no admin's note. The
        claim must be exact in minor units: a fraction of a cent never equals an invoice's
        total, and the full path says so."""
        claim = request.claim
        if not (
            request.confirmed_by_provider
            and request.payment_id is None
            and request.customer_id is None
            and claim.recorded_by is None
            and claim.note is None
        ):
            return None
        amount_minor = to_minor_units(claim.amount)
        amount = from_minor_units(amount_minor)
        if amount != claim.amount:
            return None
        now = utc_now()
        capture = self._statement.settle(
            BundleCaptureRequest(
                invoice_id=request.invoice_id,
                provider=claim.provider,
                reference=claim.reference,
                amount_minor=amount_minor,
                currency=claim.currency,
                payload_digest=claim.payload_digest,
                payment_intent_id=request.payment_intent_id,
                charge_id=request.charge_id,
                payment_id=uuid.uuid4(),
                paid_at=request.as_of or now,
                now=now,
            )
        )
        if capture.user_id is None:
            return None
        notifications: list[Notification] = [
            TokensCreditedEvent(
                user_id=capture.user_id,
                amount=credited.tokens,
                balance_after=credited.balance_after,
                purchase_id=credited.purchase_id,
            )
            for credited in capture.credited
        ]
        notifications.append(
            InvoicePaidEvent(
                invoice_id=request.invoice_id,
                user_id=capture.user_id,
                amount=amount,
                currency=claim.currency,
                provider=claim.provider,
                payment_reference=claim.reference,
            )
        )
        outcome = CaptureOutcome("success", request.invoice_id, len(capture.credited))
        return outcome, notifications
