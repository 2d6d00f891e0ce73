"""Who is calling: JWT identity helpers and JSON answers for every JWT failure."""

import uuid
from typing import Any

from flask import Response, current_app, jsonify
from flask_jwt_extended import JWTManager, create_access_token, get_jwt_identity

from src.errors import Unauthorized
from src.models.user import UserRole


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


def _account_exists(user_id: uuid.UUID) -> bool:
    """Look the account up without leaving a transaction open behind the lookup.

    Routes call providers after authenticating; the provider rule forbids an open
    transaction then, so a transaction this lookup began is ended here.
    """
    container: Any = getattr(current_app, "container")
    session = container.session()()  # the scoped session's Session of this request
    was_idle = not session.in_transaction()
    try:
        return bool(container.users.user_repository().exists(user_id))
    finally:
        if was_idle:
            session.rollback()


def load_token_user(jwt_header: dict[str, Any], jwt_data: dict[str, Any]) -> uuid.UUID | None:
    """The user a verified token names, or None (answered 401) when it must not be honoured.

    A signature alone is not enough: a token must expire (flask-jwt-extended checks ``exp``
    only when it is there, so one without it would be valid forever) and must name an
    account that still exists (a deleted user's token was a 500 on checkout and auto-reload,
    where the missing row surfaced as a foreign-key error).
    """
    if not isinstance(jwt_data.get("exp"), (int, float)):
        return None
    user_id = _parse_identity(jwt_data.get("sub"))
    if user_id is None or not _account_exists(user_id):
        return None
    return user_id


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

    jwt.user_lookup_loader(load_token_user)

    @jwt.user_lookup_error_loader
    def token_user_refused(
        header: dict[str, object], payload: dict[str, object]
    ) -> tuple[Response, int]:
        return _unauthorized("invalid_token", "The bearer token is not valid.")

    @jwt.expired_token_loader
    def expired_token(
        header: dict[str, object], payload: dict[str, object]
    ) -> tuple[Response, int]:
        return _unauthorized("token_expired", "The bearer token has expired; log in again.")
