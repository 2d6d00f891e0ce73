"""Paying invoices through a provider, recovering lost confirmations, payment history."""

import uuid

from dependency_injector.wiring import Provide, inject
from flask import Blueprint


from src.container import Container
from src.events.payment_events import PaymentStartRequestedEvent
from src.intents.payment_method import PaymentMethodSetupProcess
from src.intents.payment_start import PaymentStartProcess
from src.intents.payment_verify import PaymentVerifyProcess
from src.openapi import BEARER, ViewResult, responses, spec
from src.pagination import decode_cursor, encode_cursor
from src.rate_limits import payments_limit
from src.schemas.payment import (
    CurrencyAmount,
    PaymentListQuery,
    PaymentMethodSetup,
    PaymentMethodSetupRequest,
    PaymentOut,
    PaymentPage,
    PaymentStarted,
    PaymentStatsOut,
    PayInvoiceRequest,
    VerifyPaymentRequest,
    VerifyPaymentResponse,
)
from src.security import current_user_id, require_user
from src.services.payment_service import PaymentService
from src.services.token_service import TokenService

bp = Blueprint("payments", __name__, url_prefix="/user")
TAGS = ["payments"]


@bp.before_request
def require_login() -> None:
    require_user()


@bp.post("/invoices/<uuid:invoice_id>/pay")
@payments_limit
@spec.validate(
    json=PayInvoiceRequest,
    resp=responses(
        {"HTTP_201": PaymentStarted, "HTTP_200": PaymentStarted}, 401, 404, 409, 429, 502, 503
    ),
    tags=TAGS,
    security=BEARER,
)
@inject
def pay_invoice(
    invoice_id: uuid.UUID,
    json: PayInvoiceRequest,
    process: PaymentStartProcess = Provide[Container.payment_start_process],
) -> ViewResult:
    """Start paying a pending invoice (201), or get the open payment back (200).

    Stripe answers a PaymentIntent ``client_secret`` (default) or a Checkout ``checkout_url``.
    Nothing is granted here: only the provider's confirmation (webhook or verify) does that.
    409 ``payment_starting``: another request is creating this invoice's payment right now.
    """
    started = process.run(
        PaymentStartRequestedEvent(
            user_id=current_user_id(),
            invoice_id=invoice_id,
            provider=json.provider,
            mode=json.mode,
        )
    )
    return PaymentStarted.from_result(started), 200 if started.reused else 201


@bp.post("/payments/verify")
@payments_limit
@spec.validate(
    json=VerifyPaymentRequest,
    resp=responses({"HTTP_200": VerifyPaymentResponse}, 401, 404, 409, 422, 429, 502, 503),
    tags=TAGS,
    security=BEARER,
)
@inject
def verify_payment(
    json: VerifyPaymentRequest,
    process: PaymentVerifyProcess = Provide[Container.payment_verify_process],
) -> ViewResult:
    """Ask the provider where one of your payments stands; if it succeeded, the invoice is
    settled exactly as the webhook would (and only once, whichever comes first)."""
    outcome = process.run(current_user_id(), json.payment_id)
    return VerifyPaymentResponse.from_result(outcome)


@bp.get("/payments")
@spec.validate(
    query=PaymentListQuery,
    resp=responses({"HTTP_200": PaymentPage}, 401),
    tags=TAGS,
    security=BEARER,
)
@inject
def list_payments(
    query: PaymentListQuery, payments: PaymentService = Provide[Container.payments.payment_service]
) -> ViewResult:
    """Your payment attempts, newest first, optionally of one status."""
    page = payments.list_for_user(
        current_user_id(), query.status, query.limit, decode_cursor(query.cursor)
    )
    return PaymentPage(
        items=[PaymentOut.of(payment) for payment in page.items],
        next_cursor=encode_cursor(page.next_cursor) if page.next_cursor else None,
    )


@bp.get("/payments/stats")
@spec.validate(resp=responses({"HTTP_200": PaymentStatsOut}, 401), tags=TAGS, security=BEARER)
@inject
def payment_stats(
    payments: PaymentService = Provide[Container.payments.payment_service],
    tokens: TokenService = Provide[Container.tokens.token_service],
) -> ViewResult:
    """Net spending (paid minus refunded) in the currency of your latest payment."""
    user_id = current_user_id()
    stats = payments.stats(user_id)
    return PaymentStatsOut(
        total_spent=stats.total_spent,
        currency=stats.currency,
        completed_payments=stats.completed_payments,
        failed_payments=stats.failed_payments,
        total_tokens_purchased=tokens.get_balance(user_id).total_purchased,
        other_currencies=[
            CurrencyAmount(currency=currency, total_spent=amount)
            for currency, amount in stats.other_currencies
        ],
    )


@bp.post("/payment-methods/setup")
@payments_limit
@spec.validate(
    json=PaymentMethodSetupRequest,
    resp=responses({"HTTP_201": PaymentMethodSetup}, 401, 404, 429, 502, 503),
    tags=TAGS,
    security=BEARER,
)
@inject
def setup_payment_method(
    json: PaymentMethodSetupRequest,
    setup: PaymentMethodSetupProcess = Provide[Container.payment_method_setup_process],
) -> ViewResult:
    """Save a card for later off-session charges (auto-reload): confirm the answered
    ``client_secret`` (a Stripe SetupIntent) in the frontend."""
    outcome = setup.run(current_user_id(), json.provider)
    return PaymentMethodSetup.from_result(outcome), 201
