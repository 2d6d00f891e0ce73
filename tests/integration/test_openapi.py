"""GET /openapi.json: an OpenAPI 3 document generated from the routes' schemas."""

import json
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from spectree.plugins.flask_plugin import FlaskPlugin

from src.openapi import REQUEST_TEXT_PATTERN, stripped_text_pattern
from tests.support.api import RegisteredUser


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


# --- the document tells the truth (the schema fuzzing gate, tests/fuzz, relies on it) -------


def test_component_names_carry_no_hash_suffix(document: dict[str, Any]) -> None:
    names = set(document["components"]["schemas"])
    assert not [name for name in names if re.search(r"\.[0-9a-f]{7}(\.|$)", name)]
    assert {"InvoiceOut", "ErrorResponse", "CheckoutRequest"} <= names
    # Two different models named PlanOut keep apart, each under the model that holds it.
    assert {"PlanList.PlanOut", "PlanChangeOut.PlanOut"} <= names
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(document)))
    assert refs <= names


def test_operations_document_404_for_path_ids_and_414_for_query_strings(
    document: dict[str, Any],
) -> None:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if "{" in path:
                assert "404" in operation["responses"], (method, path)
            if any(parameter["in"] == "query" for parameter in operation.get("parameters", [])):
                assert "414" in operation["responses"], (method, path)


def test_request_text_and_money_and_cursors_are_documented_as_refused(
    document: dict[str, Any],
) -> None:
    consume = document["components"]["schemas"]["ConsumeRequest"]["properties"]
    # Bounds are counted once stripped, so they live in the pattern, not in maxLength.
    assert consume["description"]["anyOf"][0]["pattern"] == stripped_text_pattern(0, 255)
    assert "maxLength" not in consume["reference"]
    reference = re.compile(consume["reference"]["pattern"])
    texts = (" a\tb ", "a\x00b", "   ", " " * 300 + "a", "a" * 256)
    assert [bool(reference.fullmatch(text)) for text in texts] == [True, False, False, True, False]
    assert re.fullmatch(REQUEST_TEXT_PATTERN, "any\ttext\n") and not re.fullmatch(
        REQUEST_TEXT_PATTERN, "\x7f"
    )
    money = re.compile(
        document["components"]["schemas"]["RefundRequest"]["properties"]["amount"]["anyOf"][0][
            "pattern"
        ]
    )
    assert [bool(money.fullmatch(text)) for text in ("0.01", "49.00", "0", "0.00", "1" * 13)] == [
        True,
        True,
        False,
        False,
        False,
    ]
    listing = document["paths"]["/api/v1/user/tokens/transactions"]["get"]["parameters"]
    cursor = next(parameter for parameter in listing if parameter["name"] == "cursor")
    assert cursor["schema"]["format"] == "ledger-cursor"


def test_options_on_an_admin_route_is_answered_with_allow(client: FlaskClient) -> None:
    response = client.options("/api/v1/admin/invoices")

    assert response.status_code == 200
    assert "GET" in response.headers["Allow"]


def test_spectree_reads_the_request_only_where_a_route_declares_a_request_model(
    client: FlaskClient, user: RegisteredUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The balance declares none: spectree's copy of its headers and cookies is skipped, and
    its response is still the declared model's JSON. A query model is still validated."""
    validated: list[str] = []
    spectree_request_validation = FlaskPlugin.request_validation

    def spy(plugin: FlaskPlugin, request: Any, *models: Any) -> None:
        validated.append(request.full_path)
        spectree_request_validation(plugin, request, *models)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(FlaskPlugin, "request_validation", spy)
    balance = client.get("/api/v1/user/tokens/balance", headers=user.headers)
    page = client.get("/api/v1/user/tokens/transactions?limit=5", headers=user.headers)
    refused = client.get("/api/v1/user/tokens/transactions?limit=zero", headers=user.headers)

    assert balance.status_code == 200 and balance.mimetype == "application/json"
    assert set(balance.get_json()) >= {"balance", "held", "total_purchased", "total_spent"}
    assert page.status_code == 200 and "items" in page.get_json()
    assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == "validation_failed"
    assert validated == [
        "/api/v1/user/tokens/transactions?limit=5",
        "/api/v1/user/tokens/transactions?limit=zero",
    ]
