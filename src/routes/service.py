"""Service-to-service: a trusted backend (X-API-Key) spends and refunds for a user, since the
paid work usually runs on another service.

Scopes: reads (GET) need ``usage:read``, everything else (consume, holds, releases) needs
``usage:write``; a key without the scope gets 403 ``insufficient_scope``.
"""

import uuid

from dependency_injector.wiring import Provide, inject
from flask import Blueprint, g, request

from src.container import Container
from src.events.dispatcher import EventDispatcher
from src.events.unit_of_work import SqlAlchemyUnitOfWork
from src.models.api_key import ApiKeyScope
from src.openapi import ViewResult, responses, spec
from src.routes.usage import consume, refund_usage
from src.schemas.usage import (
    ConsumeRequest,
    ConsumeResponse,
    UsageRefundRequest,
    UsageRefundResponse,
)
from src.pagination import decode_sequence_cursor
from src.schemas.common import LedgerPageQuery
from src.schemas.tokens import TokenBalanceOut, TokenTransactionPage
from src.services.api_key_service import ApiKeyService
from src.services.token_service import TokenService
from src.services.user_service import UserService

bp = Blueprint("service", __name__, url_prefix="/service/users/<uuid:user_id>/tokens")
TAGS = ["service"]
API_KEY: dict[str, list[str]] = {"apiKeyAuth": []}


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@bp.before_request
@inject
def require_api_key(
    keys: ApiKeyService = Provide[Container.users.api_key_service],
    unit_of_work: SqlAlchemyUnitOfWork = Provide[Container.unit_of_work],
) -> None:
    """Read from the database on every request (a revoked key is refused at once on every
    worker); the throttled ``last_used_at`` write is committed on its own, before the work."""
    scope = ApiKeyScope.USAGE_READ if request.method in READ_METHODS else ApiKeyScope.USAGE_WRITE
    with unit_of_work as uow:
        g.api_key_id = keys.authenticate(request.headers.get("X-API-Key"), scope).id
        uow.commit()


@bp.post("/consume")
@spec.validate(
    json=ConsumeRequest,
    resp=responses({"HTTP_201": ConsumeResponse}, 401, 402, 403, 404, 422),
    tags=TAGS,
    security=API_KEY,
)
@inject
def consume_for_user(
    user_id: uuid.UUID,
    json: ConsumeRequest,
    users: UserService = Provide[Container.users.user_service],
    dispatcher: EventDispatcher = Provide[Container.dispatcher],
) -> ViewResult:
    """Charge one use for ``user_id``, exactly as the user's own consume does."""
    users.get(user_id)
    return consume(dispatcher, user_id, json, api_key_id=g.api_key_id)


@bp.post("/usages/<uuid:usage_id>/refund")
@spec.validate(
    json=UsageRefundRequest,
    resp=responses({"HTTP_200": UsageRefundResponse}, 401, 403, 404, 409),
    tags=TAGS,
    security=API_KEY,
)
@inject
def refund_for_user(
    user_id: uuid.UUID,
    usage_id: uuid.UUID,
    json: UsageRefundRequest,
    dispatcher: EventDispatcher = Provide[Container.dispatcher],
) -> ViewResult:
    """Give back a use charged by this same API key, once (403 ``forbidden`` for a use charged
    by another key or by the user's own token; 409 ``already_refunded``)."""
    return refund_usage(dispatcher, user_id, usage_id, json, api_key_id=g.api_key_id)


@bp.get("/balance")
@spec.validate(
    resp=responses({"HTTP_200": TokenBalanceOut}, 401, 403, 404), tags=TAGS, security=API_KEY
)
@inject
def balance_for_user(
    user_id: uuid.UUID,
    users: UserService = Provide[Container.users.user_service],
    tokens: TokenService = Provide[Container.tokens.token_service],
) -> ViewResult:
    """The user's balance, as ``GET /user/tokens/balance`` shows it (scope ``usage:read``)."""
    users.get(user_id)
    view = tokens.get_balance(user_id)
    return TokenBalanceOut.of(view)


@bp.get("/transactions")
@spec.validate(
    query=LedgerPageQuery,
    resp=responses({"HTTP_200": TokenTransactionPage}, 401, 403, 404),
    tags=TAGS,
    security=API_KEY,
)
@inject
def transactions_for_user(
    user_id: uuid.UUID,
    query: LedgerPageQuery,
    users: UserService = Provide[Container.users.user_service],
    tokens: TokenService = Provide[Container.tokens.token_service],
) -> ViewResult:
    """The user's ledger, newest first (scope ``usage:read``)."""
    users.get(user_id)
    page = tokens.list_transactions(user_id, query.limit, decode_sequence_cursor(query.cursor))
    return TokenTransactionPage.from_page(page)
