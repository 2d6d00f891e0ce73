"""GET /openapi.json: an OpenAPI 3 document generated from the routes' schemas."""

from typing import Any

import pytest
from flask.testing import FlaskClient


@pytest.fixture
def document(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.get_json()
    return body


def test_it_is_openapi_3_and_lists_every_endpoint(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) >= {
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/plans",
        "/api/v1/token-bundles",
        "/api/v1/addons",
        "/api/v1/user/checkout",
        "/api/v1/user/invoices",
        "/api/v1/user/invoices/{invoice_id}",
        "/api/v1/health",
    }


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    name = schema["$ref"].rsplit("/", 1)[-1]
    resolved: dict[str, Any] = document["components"]["schemas"][name]
    return resolved


def test_checkout_documents_its_request_response_and_errors(document: dict[str, Any]) -> None:
    operation = document["paths"]["/api/v1/user/checkout"]["post"]
    request_schema = resolve(
        document, operation["requestBody"]["content"]["application/json"]["schema"]
    )
    assert set(request_schema["properties"]) == {"plan_id", "token_bundle_ids", "add_on_ids"}
    assert request_schema["additionalProperties"] is False
    assert {"201", "400", "401", "404", "409", "422"} <= set(operation["responses"])
    error = resolve(
        document, operation["responses"]["409"]["content"]["application/json"]["schema"]
    )
    assert error["required"] == ["error"]
    assert operation["security"] == [{"bearerAuth": []}]


def test_money_is_documented_as_a_decimal_string(document: dict[str, Any]) -> None:
    invoice = next(
        schema
        for name, schema in document["components"]["schemas"].items()
        if name.startswith("InvoiceOut")
    )
    assert invoice["properties"]["total_amount"]["type"] == "string"


def test_bearer_scheme_is_declared(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
