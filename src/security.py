"""Who is calling: JWT identity helpers and JSON answers for every JWT failure."""

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, current_app, jsonify, request
from flask_jwt_extended import (
    JWTManager,
    create_access_token,
    get_jwt,
    get_jwt_identity,
    verify_jwt_in_request,
)

from src.errors import Unauthorized
from src.models.user import UserRole
from src.services.account_reads import AccountReadService


def issue_access_token(user_id: uuid.UUID, role: UserRole) -> str:
    token: str = create_access_token(identity=str(user_id), additional_claims={"role": role.value})
    return token


def current_user_id() -> uuid.UUID:
    """The caller's id from a verified JWT (call only after ``verify_jwt_in_request``)."""
    identity = get_jwt_identity()
    try:
        return uuid.UUID(str(identity))
    except ValueError as error:
        raise Unauthorized("The token does not name a user.", code="invalid_token") from error


def _parse_identity(subject: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(subject))
    except ValueError:
        return None


ViewT = TypeVar("ViewT", bound=Callable[..., Any])
_CHECKS_ACCOUNT = "_checks_account_itself"


def account_checked_by_view(view: ViewT) -> ViewT:
    """Mark a view whose own statement proves the account exists (and answers 401 when it
    does not), so ``require_user`` spares the request a separate look-up.

    Place it between the route decorator and the rest: the route registers what it returns.
    """
    setattr(view, _CHECKS_ACCOUNT, True)
    return view


def require_user() -> None:
    """A blueprint's ``before_request``: 401 unless the bearer token must be honoured.

    A signature alone is not enough: a token must expire (flask-jwt-extended checks ``exp``
    only when it is there, so one without it would be valid forever) and must name an
    account that still exists (a deleted user's token was a 500 on checkout and auto-reload,
    where the missing row surfaced as a foreign-key error). The account look-up is one
    autocommit statement, so no transaction stays open behind it (routes call providers
    after authenticating, and the provider rule forbids an open transaction then).
    """
    if request.method == "OPTIONS":
        return  # Flask's own answer (200 with Allow); flask-jwt-extended exempts OPTIONS
    verify_jwt_in_request()
    claims = get_jwt()
    user_id = _parse_identity(claims.get("sub"))
    if not isinstance(claims.get("exp"), (int, float)) or user_id is None:
        raise invalid_token()
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, _CHECKS_ACCOUNT, False):
        return
    if not account_reads().account_exists(user_id):
        raise invalid_token()


def account_reads() -> AccountReadService:
    container: Any = getattr(current_app, "container")
    service: AccountReadService = container.users.account_read_service()
    return service


def invalid_token() -> Unauthorized:
    return Unauthorized("The bearer token is not valid.", code="invalid_token")


def _unauthorized(code: str, message: str) -> tuple[Response, int]:
    return jsonify({"error": {"code": code, "message": message}}), 401


def register_jwt_handlers(jwt: JWTManager) -> None:
    """flask-jwt-extended answers ``{"msg": ...}`` by default; ours speak the API's error model."""

    @jwt.unauthorized_loader
    def missing_token(reason: str) -> tuple[Response, int]:
        return _unauthorized("unauthorized", "A bearer token is required.")

    @jwt.invalid_token_loader
    def invalid_token(reason: str) -> tuple[Response, int]:
        return _unauthorized("invalid_token", "The bearer token is not valid.")

    @jwt.expired_token_loader
    def expired_token(
        header: dict[str, object], payload: dict[str, object]
    ) -> tuple[Response, int]:
        return _unauthorized("token_expired", "The bearer token has expired; log in again.")
