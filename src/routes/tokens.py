"""The signed-in user's tokens: balance and ledger."""

from dependency_injector.wiring import Provide, inject
from flask import Blueprint
from flask_jwt_extended import verify_jwt_in_request

from src.container import Container
from src.openapi import BEARER, ViewResult, responses, spec
from src.pagination import decode_sequence_cursor, encode_sequence_cursor
from src.schemas.common import PageQuery
from src.schemas.tokens import TokenBalanceOut, TokenTransactionOut, TokenTransactionPage
from src.security import current_user_id
from src.services.token_service import TokenService

bp = Blueprint("tokens", __name__, url_prefix="/user/tokens")
TAGS = ["tokens"]


@bp.before_request
def require_login() -> None:
    verify_jwt_in_request()


@bp.get("/balance")
@spec.validate(resp=responses({"HTTP_200": TokenBalanceOut}, 401), tags=TAGS, security=BEARER)
@inject
def balance(tokens: TokenService = Provide[Container.token_service]) -> ViewResult:
    view = tokens.get_balance(current_user_id())
    return TokenBalanceOut(
        balance=view.balance, total_purchased=view.total_purchased, total_spent=view.total_spent
    )


@bp.get("/transactions")
@spec.validate(
    query=PageQuery,
    resp=responses({"HTTP_200": TokenTransactionPage}, 401),
    tags=TAGS,
    security=BEARER,
)
@inject
def transactions(
    query: PageQuery, tokens: TokenService = Provide[Container.token_service]
) -> ViewResult:
    """The ledger, newest first: every credit and debit with the balance right after it."""
    page = tokens.list_transactions(
        current_user_id(), query.limit, decode_sequence_cursor(query.cursor)
    )
    return TokenTransactionPage(
        items=[TokenTransactionOut.of(entry) for entry in page.items],
        next_cursor=encode_sequence_cursor(page.next_cursor) if page.next_cursor else None,
    )
