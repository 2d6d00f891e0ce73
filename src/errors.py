"""Domain errors with stable codes, and the one place that turns errors into JSON.

Services raise these; routes never catch them. Every error body has the same shape:
``{"error": {"code": "...", "message": "...", "details": ...}}``. Anything that is not an
``ApiError`` is a bug: it is logged with the request id and answered as a bare 500, so no
exception text ever reaches a client.
"""

import logging
from typing import Any

from flask import Flask, Response, g, jsonify
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """Base of every error a client may see; ``code`` is the stable, machine-readable part."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return {"error": body}


class ValidationFailed(ApiError):
    status_code = 400
    code = "validation_failed"


class MalformedJson(ApiError):
    status_code = 400
    code = "malformed_json"


class JsonTooDeep(ApiError):
    """JSON nested deeper than the parser allows (src/json_provider.py)."""

    status_code = 400
    code = "json_too_deep"


class DuplicateJsonKey(ApiError):
    """One JSON object names the same key twice: refused, never "the last one wins"."""

    status_code = 400
    code = "duplicate_json_key"


class InvalidCharacters(ApiError):
    """A string with a control character or a lone surrogate, which text columns cannot take."""

    status_code = 400
    code = "invalid_characters"


class MalformedSignatureHeader(ApiError):
    """A webhook signature header that is not exactly ``t=<digits>,v1=<hex>[,v1=...]``."""

    status_code = 400
    code = "malformed_signature_header"


class Unauthorized(ApiError):
    status_code = 401
    code = "unauthorized"


class Forbidden(ApiError):
    status_code = 403
    code = "forbidden"


class NotFound(ApiError):
    """A missing resource; the code is ``<resource>_not_found`` (Lago's convention)."""

    status_code = 404

    def __init__(self, resource: str, message: str | None = None) -> None:
        text = message or f"{resource.replace('_', ' ').capitalize()} not found."
        super().__init__(text, code=f"{resource}_not_found")
        self.resource = resource


class Conflict(ApiError):
    status_code = 409
    code = "conflict"


class RetryableConflict(Conflict):
    """The transaction lost a race that running the command again resolves (the dispatcher
    does, like a serialization failure); a 409 only if every attempt lost."""


class InvalidState(ApiError):
    """A transition the current status does not allow (e.g. capturing a cancelled invoice)."""

    status_code = 409
    code = "invalid_state"


class PaymentRequired(ApiError):
    status_code = 402
    code = "payment_required"


class UnsupportedMediaType(ApiError):
    status_code = 415
    code = "unsupported_media_type"


class Unprocessable(ApiError):
    status_code = 422
    code = "unprocessable"


class AmountMismatch(Unprocessable):
    code = "amount_mismatch"


class BalanceLimitExceeded(Unprocessable):
    """A credit that would push a token balance past what its column can hold."""

    code = "balance_limit_exceeded"


class ServiceUnavailable(ApiError):
    status_code = 503
    code = "service_unavailable"


class ProviderError(ApiError):
    """A payment provider refused or failed a call; its own message is not passed on verbatim."""

    status_code = 502
    code = "provider_error"


def recordable_failure(error: Exception) -> ApiError:
    """What a failure may say where a client or an admin reads it (``payments.error_code`` and
    ``error_message``): its own code and message if it is an ``ApiError``, otherwise a generic
    ``internal_error`` -- never an exception's class name or text, which describe our code."""
    if isinstance(error, ApiError):
        return error
    return ApiError(
        "The payment could not be applied because of an internal error.", code="internal_error"
    )


def validation_failed(error: ValidationError) -> ApiError:
    """A pydantic error as the API's 400: field paths and messages, never the input values."""
    items = error.errors(include_url=False, include_input=False)
    if any(item["type"] == "json_invalid" for item in items):
        return MalformedJson("The request body is not valid JSON.")
    details = [
        {
            "field": ".".join(str(part) for part in item["loc"]),
            "message": item["msg"],
            "type": item["type"],
        }
        for item in items
    ]
    return ValidationFailed("The request is not valid.", details=details)


# PostgreSQL SQLSTATEs that mean "try again": the statement or lock wait was cut short by the
# connection's timeouts, or the transaction lost a deadlock. Nothing was committed.
_DATABASE_DOWN = ("database_unavailable", "The database is unavailable; try again shortly.", 5)
_DATABASE_TROUBLE: dict[str | None, tuple[str, str, int]] = {
    "57014": ("database_timeout", "The request took too long in the database; retry it.", 1),
    "55P03": ("lock_timeout", "The record is busy; retry the request.", 1),
    "40P01": ("database_conflict", "The request collided with another; retry it.", 1),
    "40001": ("database_conflict", "The request collided with another; retry it.", 1),
}


# HTTP errors whose werkzeug name is not the code this API documents.
_HTTP_CODES: dict[int, str] = {413: "payload_too_large"}


def _json(status: int, body: dict[str, Any]) -> tuple[Response, int]:
    return jsonify(body), status


def register_error_handlers(app: Flask) -> None:
    """Install the JSON renderers for domain errors, HTTP errors and unexpected failures."""

    @app.errorhandler(ApiError)
    def handle_api_error(error: ApiError) -> tuple[Response, int]:
        return _json(error.status_code, error.to_dict())

    @app.errorhandler(HTTPException)
    def handle_http_exception(error: HTTPException) -> tuple[Response, int]:
        status = error.code or 500
        code = _HTTP_CODES.get(status) or (error.name or "error").lower().replace(" ", "_").replace(
            "'", ""
        )
        body = {"error": {"code": code, "message": error.description or error.name}}
        response, status = _json(status, body)
        # werkzeug's own headers (``Allow`` on a 405) belong to the answer; only the JSON
        # body is ours.
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response, status

    @app.errorhandler(OperationalError)
    def handle_database_trouble(error: OperationalError) -> tuple[Response, int]:
        code, message, retry_after = _DATABASE_TROUBLE.get(
            getattr(error.orig, "pgcode", None), _DATABASE_DOWN
        )
        logger.error("%s (request %s): %s", code, g.get("request_id"), error.orig)
        response, status = _json(503, {"error": {"code": code, "message": message}})
        response.headers["Retry-After"] = str(retry_after)
        return response, status

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> tuple[Response, int]:
        request_id = g.get("request_id")
        logger.exception("unhandled error (request %s)", request_id)
        message = "An unexpected error occurred. Quote the request id when reporting it."
        body = {"error": {"code": "internal_error", "message": message, "request_id": request_id}}
        return _json(500, body)

    @app.errorhandler(DBAPIError)
    def handle_lost_connection(error: DBAPIError) -> tuple[Response, int]:
        # psycopg2 reports a server that went away mid-query as a plain DatabaseError at
        # times ("server closed the connection unexpectedly"), not an OperationalError;
        # SQLAlchemy recognises the disconnect and invalidates the connection. Any other
        # database error is a bug: a 500.
        if not error.connection_invalidated:
            return handle_unexpected(error)
        logger.error("database_unavailable (request %s): %s", g.get("request_id"), error.orig)
        code, message, retry_after = _DATABASE_DOWN
        response, status = _json(503, {"error": {"code": code, "message": message}})
        response.headers["Retry-After"] = str(retry_after)
        return response, status
