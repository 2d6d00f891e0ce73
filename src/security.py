"""Who is calling: JWT identity helpers and JSON answers for every JWT failure."""

import uuid

from flask import Response, jsonify
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
