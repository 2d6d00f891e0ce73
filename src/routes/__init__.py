"""Blueprints under /api/v1. Routes parse, authenticate, emit, and render; no business rule."""

from flask import Blueprint, Flask, request
from werkzeug.exceptions import BadRequest

from src.errors import MalformedJson, UnsupportedMediaType
from src.routes import (
    admin,
    admin_api_keys,
    auth,
    catalog,
    docs,
    entitlement,
    health,
    payments,
    service,
    tokens,
    user,
    webhooks,
)
from src.routes import holds  # noqa: F401  (adds the hold routes to service.bp)
from src.routes import subscriptions  # noqa: F401  (adds its routes to user.bp and admin.bp)

JSON_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Webhooks verify a signature over the raw bytes before anything parses the body.
RAW_BODY_BLUEPRINTS = frozenset({"api.webhooks"})


def _require_json_body() -> None:
    """Refuse non-JSON and malformed JSON bodies up front, with the API's own error codes."""
    if request.method not in JSON_BODY_METHODS or request.blueprint in RAW_BODY_BLUEPRINTS:
        return
    if not request.get_data(cache=True):
        return
    if not request.is_json:
        raise UnsupportedMediaType("Send the body as JSON (Content-Type: application/json).")
    try:
        request.get_json()
    except BadRequest as error:
        raise MalformedJson("The request body is not valid JSON.") from error


def register_blueprints(app: Flask) -> None:
    api = Blueprint("api", __name__, url_prefix="/api/v1")
    api.before_request(_require_json_body)
    api.register_blueprint(auth.bp)
    api.register_blueprint(catalog.bp)
    api.register_blueprint(docs.bp)
    api.register_blueprint(health.bp)
    api.register_blueprint(user.bp)
    api.register_blueprint(tokens.bp)
    api.register_blueprint(payments.bp)
    api.register_blueprint(entitlement.bp)
    api.register_blueprint(service.bp)
    api.register_blueprint(webhooks.bp)
    api.register_blueprint(admin.bp)
    api.register_blueprint(admin_api_keys.bp)
    app.register_blueprint(api)
