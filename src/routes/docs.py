"""GET /openapi.json: the OpenAPI 3 document generated from the routes' schemas."""

from flask import Blueprint, Response, jsonify

from src.openapi import spec

bp = Blueprint("docs", __name__)


@bp.get("/openapi.json")
def openapi_document() -> Response:
    return jsonify(spec.spec)
