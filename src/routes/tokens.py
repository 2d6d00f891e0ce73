"""The signed-in user's tokens: balance, ledger, spending, refunds, auto-reload."""

import uuid

from dependency_injector.wiring import Provide, inject
from flask import Blueprint


from src.container import Container
from src.errors import Forbidden, NotFound
from src.events.dispatcher import EventDispatcher
from src.events.token_events import AutoReloadConfigurationRequestedEvent
from src.routes.usage import consume
from src.openapi import BEARER, ViewResult, responses, spec
from src.pagination import decode_sequence_cursor
from src.schemas.common import LedgerPageQuery
from src.schemas.tokens import TokenBalanceOut, TokenTransactionPage
from src.schemas.usage import (
    AutoReloadOut,
    AutoReloadRequest,
    ConsumeRequest,
    ConsumeResponse,
    UsageRefundRequest,
)
from src.services.auto_reload_service import AutoReloadService
from src.security import account_checked_by_view, current_user_id, invalid_token, require_user
from src.services.account_reads import AccountReadService
from src.services.token_service import TokenService

bp = Blueprint("tokens", __name__, url_prefix="/user/tokens")
TAGS = ["tokens"]


@bp.before_request
def require_login() -> None:
    require_user()


@bp.get("/balance")
@account_checked_by_view
@spec.validate(resp=responses({"HTTP_200": TokenBalanceOut}, 401), tags=TAGS, security=BEARER)
@inject
def balance(
    reads: AccountReadService = Provide[Container.users.account_read_service],
) -> ViewResult:
    """One indexed lookup, in autocommit (the balance row proves the account)."""
    view = reads.balance(current_user_id())
    if view is None:
        raise invalid_token()
    return TokenBalanceOut.of(view)


@bp.get("/transactions")
@spec.validate(
    query=LedgerPageQuery,
    resp=responses({"HTTP_200": TokenTransactionPage}, 401),
    tags=TAGS,
    security=BEARER,
)
@inject
def transactions(
    query: LedgerPageQuery, tokens: TokenService = Provide[Container.tokens.token_service]
) -> ViewResult:
    """The ledger, newest first: every credit and debit with the balance right after it."""
    page = tokens.list_transactions(
        current_user_id(), query.limit, decode_sequence_cursor(query.cursor)
    )
    return TokenTransactionPage.from_page(page)


@bp.post("/consume")
@account_checked_by_view
@spec.validate(
    json=ConsumeRequest,
    resp=responses({"HTTP_201": ConsumeResponse}, 401, 402, 422),
    tags=TAGS,
    security=BEARER,
)
@inject
def consume_tokens(
    json: ConsumeRequest, dispatcher: EventDispatcher = Provide[Container.dispatcher]
) -> ViewResult:
    """Charge one use: covered by an active subscription, else a trial credit, else
    ``amount`` tokens (402 ``insufficient_tokens`` with {balance, required} if short). The
    same ``reference`` again replays the first answer: a retry never charges twice."""
    try:
        return consume(dispatcher, current_user_id(), json)
    except NotFound as error:
        if error.resource == "user":  # the charge's own statement found no account
            raise invalid_token() from error
        raise


@bp.post("/usages/<uuid:usage_id>/refund")
@spec.validate(
    json=UsageRefundRequest,
    resp=responses({}, 401, 403),
    tags=TAGS,
    security=BEARER,
)
def refund_use(usage_id: uuid.UUID, json: UsageRefundRequest) -> ViewResult:
    """Always 403 ``forbidden``: a use is given back only by whoever charged it, the API key
    that consumed it (``POST /service/users/{user_id}/tokens/usages/{usage_id}/refund``) or an
    admin (``POST /admin/users/{user_id}/tokens/usages/{usage_id}/refund``); a user's own
    token cannot, or a user could refund work a backend did and have it free."""
    raise Forbidden(
        "A use is given back only by the API key that charged it, or by an admin.",
        details={"usage_id": str(usage_id)},
    )


@bp.get("/auto-reload")
@spec.validate(resp=responses({"HTTP_200": AutoReloadOut}, 401, 404), tags=TAGS, security=BEARER)
@inject
def get_auto_reload(
    reloads: AutoReloadService = Provide[Container.tokens.auto_reload_service],
) -> ViewResult:
    return AutoReloadOut.from_result(reloads.settings(current_user_id()))


@bp.put("/auto-reload")
@spec.validate(
    json=AutoReloadRequest,
    resp=responses({"HTTP_200": AutoReloadOut}, 401, 404),
    tags=TAGS,
    security=BEARER,
)
@inject
def put_auto_reload(
    json: AutoReloadRequest, dispatcher: EventDispatcher = Provide[Container.dispatcher]
) -> ViewResult:
    """When a use leaves the balance under ``threshold``, buy ``bundle_id`` off-session with
    the saved card. Three failed reloads in a row switch it off (the reason is kept)."""
    settings = dispatcher.emit(
        AutoReloadConfigurationRequestedEvent(
            user_id=current_user_id(),
            enabled=json.enabled,
            threshold=json.threshold,
            bundle_id=json.bundle_id,
        )
    ).data
    return AutoReloadOut.from_result(settings)
