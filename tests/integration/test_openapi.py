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
        "/api/v1/user/invoices/{invoice_id}/cancel",
        "/api/v1/user/invoices/{invoice_id}/pay",
        "/api/v1/user/payments",
        "/api/v1/user/payments/stats",
        "/api/v1/user/payments/verify",
        "/api/v1/user/payment-methods/setup",
        "/api/v1/user/tokens/balance",
        "/api/v1/user/tokens/transactions",
        "/api/v1/user/tokens/consume",
        "/api/v1/user/tokens/usages/{usage_id}/refund",
        "/api/v1/user/tokens/auto-reload",
        "/api/v1/user/entitlement",
        "/api/v1/service/users/{user_id}/tokens/consume",
        "/api/v1/service/users/{user_id}/tokens/usages/{usage_id}/refund",
        "/api/v1/service/users/{user_id}/tokens/balance",
        "/api/v1/service/users/{user_id}/tokens/transactions",
        "/api/v1/webhooks/payment",
        "/api/v1/webhooks/{provider_name}",
        "/api/v1/admin/invoices",
        "/api/v1/admin/invoices/{invoice_id}/mark-paid",
        "/api/v1/admin/payments/{payment_id}/refund",
        "/api/v1/admin/payments/{payment_id}",
        "/api/v1/admin/payments",
        "/api/v1/admin/users/{user_id}/tokens/adjust",
        "/api/v1/admin/users/{user_id}/tokens/usages/{usage_id}/refund",
        "/api/v1/admin/api-keys",
        "/api/v1/admin/api-keys/{key_id}",
        "/api/v1/admin/users/{user_id}/tokens/transactions",
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


def test_bearer_and_api_key_schemes_are_declared(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert schemes["apiKeyAuth"] == {"type": "apiKey", "name": "X-API-Key", "in": "header"}
    consume = document["paths"]["/api/v1/service/users/{user_id}/tokens/consume"]["post"]
    assert consume["security"] == [{"apiKeyAuth": []}]


def test_the_generic_webhook_documents_requires_refund(document: dict[str, Any]) -> None:
    operation = document["paths"]["/api/v1/webhooks/payment"]["post"]
    assert "409" not in operation["responses"]
    answer = resolve(
        document, operation["responses"]["200"]["content"]["application/json"]["schema"]
    )
    assert "requires_refund" in answer["properties"]["status"]["enum"]
    assert {"reason", "message", "payment_id"} <= set(answer["properties"])
    listing = document["paths"]["/api/v1/admin/payments"]["get"]
    assert "status" in {parameter["name"] for parameter in listing["parameters"]}
