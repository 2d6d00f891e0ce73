"""Admin routes: every one needs a JWT of a user whose role is admin (checked in the database)."""

import uuid

from dependency_injector.wiring import Provide, inject
from flask import Blueprint, g, request


from src.container import Container
from src.errors import ProviderError
from src.events.dispatcher import EventDispatcher
from src.events.payment_events import PaymentCapturedEvent, RefundRequestedEvent
from src.events.token_events import TokenAdjustmentRequestedEvent
from src.intents.mark_paid import MarkPaidProcess
from src.intents.refund import RefundProcess
from src.models.invoice import InvoiceStatus
from src.models.payment import RefundStatus
from src.openapi import BEARER, ViewResult, responses, spec
from src.pagination import decode_cursor, decode_sequence_cursor, encode_cursor
from src.schemas.common import LedgerPageQuery, Page, PageQuery
from src.schemas.invoice import AdminInvoiceOut
from src.schemas.payment import (
    AdminPaymentOut,
    AdminPaymentPage,
    AdminPaymentSummaryOut,
    CaptureResponse,
    MarkPaidRequest,
    PaymentListQuery,
    PaymentOut,
    RefundOut,
    RefundRequest,
    RefundResponse,
    StatusChangeOut,
)
from src.routes.headers import idempotency_key
from src.routes.usage import refund_usage
from src.security import current_user_id, require_user
from src.schemas.tokens import TokenTransactionPage
from src.schemas.usage import (
    AdjustTokensRequest,
    AdjustTokensResponse,
    UsageRefundRequest,
    UsageRefundResponse,
)
from src.services.invoice_service import InvoiceService
from src.services.payment_service import PaymentService
from src.services.token_service import TokenService
from src.services.user_service import UserService

bp = Blueprint("admin", __name__, url_prefix="/admin")
TAGS = ["admin"]
MANUAL_PROVIDER = "manual"


@bp.before_request
@inject
def require_admin(users: UserService = Provide[Container.users.user_service]) -> None:
    """401 without a valid token, 403 for a signed-in user who is not an admin."""
    if request.method == "OPTIONS":
        return  # Flask's own answer (200 with Allow); flask-jwt-extended exempts OPTIONS
    require_user()
    g.admin_id = users.require_admin(current_user_id()).id


class AdminInvoiceQuery(PageQuery):
    status: InvoiceStatus | None = None


class AdminInvoicePage(Page[AdminInvoiceOut]):
    """A page of every user's invoices, newest first."""


@bp.get("/invoices")
@spec.validate(
    query=AdminInvoiceQuery,
    resp=responses({"HTTP_200": AdminInvoicePage}, 401, 403),
    tags=TAGS,
    security=BEARER,
)
@inject
def list_invoices(
    query: AdminInvoiceQuery, invoices: InvoiceService = Provide[Container.billing.invoice_service]
) -> ViewResult:
    """Invoices of every user, newest first, optionally of one status."""
    page = invoices.list_all(query.status, query.limit, decode_cursor(query.cursor))
    return AdminInvoicePage(
        items=[AdminInvoiceOut.model_validate(invoice) for invoice in page.items],
        next_cursor=encode_cursor(page.next_cursor) if page.next_cursor else None,
    )


@bp.post("/invoices/<uuid:invoice_id>/mark-paid")
@spec.validate(
    json=MarkPaidRequest,
    resp=responses({"HTTP_200": CaptureResponse}, 401, 403, 404, 409, 422, 502, 503),
    tags=TAGS,
    security=BEARER,
)
@inject
def mark_paid(
    invoice_id: uuid.UUID,
    json: MarkPaidRequest,
    process: MarkPaidProcess = Provide[Container.mark_paid_process],
) -> ViewResult:
    """Settle an invoice in full by hand (e.g. a bank transfer); the admin is recorded.

    An open provider payment of the invoice (the customer may be paying now) is 409
    ``payment_in_progress``, unless ``force``: it is then cancelled at the provider first
    (409 ``payment_in_progress`` still when the provider already moves the money)."""
    outcome = process.run(
        PaymentCapturedEvent(
            invoice_id=invoice_id,
            payment_reference=json.payment_reference,
            provider=MANUAL_PROVIDER,
            amount=None,
            currency=None,
            recorded_by=g.admin_id,
            note=json.note,
        ),
        force=json.force,
    )
    return CaptureResponse.from_result(outcome)


@bp.post("/payments/<uuid:payment_id>/refund")
@spec.validate(
    json=RefundRequest,
    resp=responses(
        {"HTTP_201": RefundResponse, "HTTP_202": RefundResponse},
        401,
        403,
        404,
        409,
        422,
        502,
        503,
    ),
    tags=TAGS,
    security=BEARER,
)
@inject
def refund_payment(
    payment_id: uuid.UUID,
    json: RefundRequest,
    refunds: RefundProcess = Provide[Container.refund_process],
) -> ViewResult:
    """Refund a completed payment through its provider (all that is left, or ``amount``).

    A full refund takes back what the invoice granted: the tokens (409 ``tokens_already_spent``
    if some are spent, unless ``force``, which takes what is left and records the shortfall),
    the subscription and the add-ons.

    201: the provider refunded. 202: the refund is ``requested``: the provider could not be
    reached (a job finishes it), or another attempt on it is talking to the provider now.
    502 ``refund_failed``: the provider refused (the refund is kept as ``failed``). Send an
    ``Idempotency-Key`` header to make retries safe: a retry answers the same refund
    (finishing it if it was left unfinished) and never refunds twice; the same key with
    another amount or ``force`` is 422 ``idempotency_key_reused``.
    """
    outcome = refunds.request(
        RefundRequestedEvent(
            admin_id=g.admin_id,
            payment_id=payment_id,
            amount=json.amount,
            force=json.force,
            reason=json.reason,
            idempotency_key=idempotency_key(),
        )
    )
    if outcome.status is RefundStatus.FAILED:
        raise ProviderError(
            "The payment provider refused the refund.",
            code="refund_failed",
            details={"refund_id": str(outcome.refund_id), "reason": outcome.failure_message},
        )
    status = 201 if outcome.status is RefundStatus.SUCCEEDED else 202
    return RefundResponse.from_result(outcome), status


@bp.post("/users/<uuid:user_id>/tokens/adjust")
@spec.validate(
    json=AdjustTokensRequest,
    resp=responses({"HTTP_200": AdjustTokensResponse}, 401, 403, 404, 409, 422),
    tags=TAGS,
    security=BEARER,
)
@inject
def adjust_tokens(
    user_id: uuid.UUID,
    json: AdjustTokensRequest,
    dispatcher: EventDispatcher = Provide[Container.dispatcher],
) -> ViewResult:
    """A bonus (positive) or a correction (negative, never below zero), in the ledger with the
    admin's id and the reason."""
    adjustment = dispatcher.emit(
        TokenAdjustmentRequestedEvent(
            admin_id=g.admin_id, user_id=user_id, amount=json.amount, reason=json.reason
        )
    ).data
    return AdjustTokensResponse.from_result(adjustment)


@bp.post("/users/<uuid:user_id>/tokens/usages/<uuid:usage_id>/refund")
@spec.validate(
    json=UsageRefundRequest,
    resp=responses({"HTTP_200": UsageRefundResponse}, 401, 403, 404, 409),
    tags=TAGS,
    security=BEARER,
)
@inject
def refund_user_usage(
    user_id: uuid.UUID,
    usage_id: uuid.UUID,
    json: UsageRefundRequest,
    dispatcher: EventDispatcher = Provide[Container.dispatcher],
) -> ViewResult:
    """Give back any use of this user, whoever charged it, once (409 ``already_refunded``):
    the only way back for a use charged with the user's own token."""
    return refund_usage(dispatcher, user_id, usage_id, json, admin_id=g.admin_id)


@bp.get("/users/<uuid:user_id>/tokens/transactions")
@spec.validate(
    query=LedgerPageQuery,
    resp=responses({"HTTP_200": TokenTransactionPage}, 401, 403, 404),
    tags=TAGS,
    security=BEARER,
)
@inject
def user_transactions(
    user_id: uuid.UUID,
    query: LedgerPageQuery,
    users: UserService = Provide[Container.users.user_service],
    tokens: TokenService = Provide[Container.tokens.token_service],
) -> ViewResult:
    users.get(user_id)
    page = tokens.list_transactions(user_id, query.limit, decode_sequence_cursor(query.cursor))
    return TokenTransactionPage.from_page(page)


@bp.get("/payments")
@spec.validate(
    query=PaymentListQuery,
    resp=responses({"HTTP_200": AdminPaymentPage}, 401, 403),
    tags=TAGS,
    security=BEARER,
)
@inject
def list_payments(
    query: PaymentListQuery, payments: PaymentService = Provide[Container.payments.payment_service]
) -> ViewResult:
    """Every user's payments, newest first, optionally of one status: ``requires_refund``
    lists money a provider confirmed that its invoice could not take (``error_code`` says
    why; nothing was granted), refunded by a job or waiting for an admin."""
    page = payments.list_all(query.status, query.limit, decode_cursor(query.cursor))
    return AdminPaymentPage(
        items=[AdminPaymentSummaryOut.model_validate(payment) for payment in page.items],
        next_cursor=encode_cursor(page.next_cursor) if page.next_cursor else None,
    )


@bp.get("/payments/<uuid:payment_id>")
@spec.validate(
    resp=responses({"HTTP_200": AdminPaymentOut}, 401, 403, 404), tags=TAGS, security=BEARER
)
@inject
def payment_detail(
    payment_id: uuid.UUID, payments: PaymentService = Provide[Container.payments.payment_service]
) -> ViewResult:
    """A payment with its status history and refunds: the audit trail of one attempt."""
    payment = payments.get(payment_id)
    return AdminPaymentOut(
        **PaymentOut.of(payment).model_dump(),
        user_id=payment.user_id,
        method=payment.method,
        provider_payment_intent_id=payment.provider_payment_intent_id,
        provider_session_id=payment.provider_session_id,
        provider_charge_id=payment.provider_charge_id,
        payload_digest=payment.payload_digest,
        recorded_by=payment.recorded_by,
        note=payment.note,
        history=[StatusChangeOut.model_validate(row) for row in payments.history(payment.id)],
        refunds=[RefundOut.model_validate(row) for row in payments.refunds(payment.id)],
    )
