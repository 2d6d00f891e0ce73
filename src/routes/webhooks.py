"""POST /webhooks/payment: the generic, signed payment confirmation (providers without an SDK).

The signature is checked over the raw bytes before anything in the body is read; only then
is the body parsed and the capture emitted. Duplicate deliveries are answered ``already_paid``.
"""

import hashlib

from dependency_injector.wiring import Provide, inject
from flask import Blueprint, request

from src.container import Container
from src.events.dispatcher import EventDispatcher
from src.events.payment_events import PaymentCapturedEvent
from src.openapi import ViewResult, responses, spec
from src.routes.bodies import parse_json_body
from src.schemas.payment import CaptureResponse, PaymentWebhookPayload
from src.webhook_signatures import SignedPayloadVerifier

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
SIGNATURE_HEADER = "X-Webhook-Signature"


@bp.post("/payment")
@spec.validate(
    json=PaymentWebhookPayload,
    resp=responses({"HTTP_200": CaptureResponse}, 401, 404, 409, 422, 503),
    tags=["webhooks"],
    skip_validation=True,  # the body is parsed after the signature check, below
)
@inject
def payment_webhook(
    verifier: SignedPayloadVerifier = Provide[Container.payment_webhook_verifier],
    dispatcher: EventDispatcher = Provide[Container.dispatcher],
) -> ViewResult:
    """Confirm a payment. Header ``X-Webhook-Signature: t=<unix>,v1=<hex>`` where the hex is
    HMAC-SHA256(PAYMENT_WEBHOOK_SECRET, "<t>.<raw body>"); older than 300 s is refused."""
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
    return CaptureResponse(
        status=outcome.status,
        invoice_id=outcome.invoice_id,
        items_activated=outcome.items_activated,
    )
