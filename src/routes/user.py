"""The signed-in user's own resources: checkout and invoices. Every route needs a JWT."""

import uuid

from dependency_injector.wiring import Provide, inject
from flask import Blueprint


from src.container import Container
from src.events.checkout_events import CheckoutRequestedEvent
from src.events.dispatcher import EventDispatcher
from src.intents.invoice_cancel import InvoiceCancelProcess
from src.openapi import BEARER, ViewResult, responses, spec
from src.pagination import decode_cursor, encode_cursor
from src.routes.headers import idempotency_key
from src.schemas.checkout import CheckoutRequest, CheckoutResponse
from src.schemas.common import Page, PageQuery
from src.schemas.invoice import InvoiceOut
from src.security import current_user_id, require_user
from src.services.invoice_service import InvoiceService

bp = Blueprint("user", __name__, url_prefix="/user")


@bp.before_request
def require_login() -> None:
    """No route of this blueprint is reachable without a valid bearer token."""
    require_user()


class InvoicePage(Page[InvoiceOut]):
    """A page of the caller's invoices, newest first."""


@bp.post("/checkout")
@spec.validate(
    json=CheckoutRequest,
    resp=responses({"HTTP_201": CheckoutResponse}, 400, 401, 404, 409, 415, 422),
    tags=["checkout"],
    security=BEARER,
)
@inject
def checkout(
    json: CheckoutRequest, dispatcher: EventDispatcher = Provide[Container.dispatcher]
) -> ViewResult:
    """Buy a plan, token bundles and add-ons: all PENDING, one invoice, nothing granted yet.

    Send an ``Idempotency-Key`` header to make retries safe: the same key and body replay the
    first answer (with ``Idempotent-Replayed: true``); the same key with another body is 422.
    """
    event = CheckoutRequestedEvent(
        user_id=current_user_id(),
        plan_id=json.plan_id,
        token_bundle_ids=tuple(json.token_bundle_ids),
        add_on_ids=tuple(json.add_on_ids),
        idempotency_key=idempotency_key(),
    )
    outcome = dispatcher.emit(event).data
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    return CheckoutResponse.from_result(outcome.result), 201, headers


@bp.get("/invoices")
@spec.validate(
    query=PageQuery,
    resp=responses({"HTTP_200": InvoicePage}, 400, 401),
    tags=["invoices"],
    security=BEARER,
)
@inject
def list_invoices(
    query: PageQuery, invoices: InvoiceService = Provide[Container.billing.invoice_service]
) -> ViewResult:
    """The caller's invoices, newest first; follow ``next_cursor`` for older ones."""
    page = invoices.list_for_user(current_user_id(), query.limit, decode_cursor(query.cursor))
    return InvoicePage(
        items=[InvoiceOut.model_validate(invoice) for invoice in page.items],
        next_cursor=encode_cursor(page.next_cursor) if page.next_cursor else None,
    )


@bp.get("/invoices/<uuid:invoice_id>")
@spec.validate(
    resp=responses({"HTTP_200": InvoiceOut}, 401, 404), tags=["invoices"], security=BEARER
)
@inject
def get_invoice(
    invoice_id: uuid.UUID, invoices: InvoiceService = Provide[Container.billing.invoice_service]
) -> ViewResult:
    """One of the caller's invoices; another user's invoice is a 404, like a missing one."""
    return InvoiceOut.model_validate(invoices.get_for_user(invoice_id, current_user_id()))


@bp.post("/invoices/<uuid:invoice_id>/cancel")
@spec.validate(
    resp=responses({"HTTP_200": InvoiceOut}, 401, 404, 409), tags=["invoices"], security=BEARER
)
@inject
def cancel_invoice(
    invoice_id: uuid.UUID,
    process: InvoiceCancelProcess = Provide[Container.invoice_cancel_process],
) -> ViewResult:
    """Abandon a pending invoice: its subscription, purchases and add-ons are cancelled too,
    which frees the plan slot for another checkout. A paid invoice cannot be cancelled, nor
    one whose payment the provider is already processing (409 ``payment_in_progress``)."""
    return InvoiceOut.from_result(process.run(current_user_id(), invoice_id))
