"""POST /webhooks/payment: the generic, signed payment confirmation (providers without an SDK).

The signature is checked over the raw bytes before anything in the body is read; only then
is the body parsed and the capture emitted. Duplicate deliveries are answered ``already_paid``.
Money confirmed that the invoice cannot take (already paid by another payment, cancelled,
an amount or currency that differs, an activation rule) is 200 ``requires_refund`` with the
reason's code: recorded once per payment reference, nothing granted.
"""

import hashlib
import logging

from dependency_injector.wiring import Provide, inject
from flask import Blueprint, request

from src.container import Container
from src.events.dispatcher import EventDispatcher
from src.events.payment_events import PaymentCapturedEvent
from src.handlers.provider_webhooks import command_for
from src.intents.provider_reports import ProviderReportProcess
from src.providers.base import PaymentProviders
from src.openapi import ViewResult, responses, spec
from src.routes.bodies import parse_json_body
from src.schemas.payment import CaptureResponse, PaymentWebhookPayload, WebhookAck
from src.webhook_signatures import SignedPayloadVerifier

logger = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
SIGNATURE_HEADER = "X-Webhook-Signature"


@bp.post("/payment")
@spec.validate(
    json=PaymentWebhookPayload,
    resp=responses({"HTTP_200": CaptureResponse}, 401, 404, 422, 503),
    tags=["webhooks"],
    skip_validation=True,  # the body is parsed after the signature check, below
)
@inject
def payment_webhook(
    verifier: SignedPayloadVerifier = Provide[Container.payments.payment_webhook_verifier],
    dispatcher: EventDispatcher = Provide[Container.dispatcher],
) -> ViewResult:
    """Confirm a payment. Header ``X-Webhook-Signature: t=<unix>,v1=<hex>`` where the hex is
    HMAC-SHA256(PAYMENT_WEBHOOK_SECRET, "<t>.<raw body>"); older than 300 s is refused.

    The money arrived, so it is never refused: an invoice that cannot take it answers 200
    ``{"status": "requires_refund", "reason": <code>}`` (e.g. ``invoice_already_paid``,
    ``amount_mismatch``); nothing was granted and the payment waits for an admin's refund."""
    raw = request.get_data(cache=True)
    verifier.verify(raw, request.headers.get(SIGNATURE_HEADER))
    payload = parse_json_body(PaymentWebhookPayload, raw)
    outcome = dispatcher.emit(
        PaymentCapturedEvent(
            invoice_id=payload.invoice_id,
            payment_reference=payload.payment_reference,
            provider=payload.provider,
            amount=payload.amount,
            currency=payload.currency,
            payload_digest=hashlib.sha256(raw).hexdigest(),
        )
    ).data
    return CaptureResponse.from_result(outcome)


@bp.post("/<provider_name>")
@spec.validate(
    resp=responses({"HTTP_200": WebhookAck}, 401, 404, 409, 422, 503),
    tags=["webhooks"],
    skip_validation=True,  # each provider verifies and reads its own raw body
)
@inject
def provider_webhook(
    provider_name: str,
    providers: PaymentProviders = Provide[Container.payments.payment_providers],
    dispatcher: EventDispatcher = Provide[Container.dispatcher],
    reports: ProviderReportProcess = Provide[Container.provider_report_process],
) -> ViewResult:
    """A provider's own webhook (Stripe: ``/webhooks/stripe``, signed with Stripe-Signature).

    The provider verifies the signature over the raw body before anything is read (400
    ``invalid_signature`` otherwise). Each event id is processed once: a redelivery answers
    ``already_processed``; events we do not act on answer ``ignored``.
    """
    raw = request.get_data(cache=True)
    event = providers.get(provider_name).parse_webhook(raw, dict(request.headers))
    # A refund report is completed from the provider's API, before any transaction opens.
    event = reports.complete(event)
    command = command_for(event, hashlib.sha256(raw).hexdigest())
    if command is None:
        logger.info("%s webhook %s (%s) ignored", provider_name, event.event_id, event.event_type)
        return WebhookAck(status="ignored", event_id=event.event_id)
    outcome = dispatcher.emit(command).data
    return WebhookAck(status=outcome.status, event_id=event.event_id)
