"""One error model for the whole API, and no exception text ever reaches a client."""

from dependency_injector import providers
from flask.testing import FlaskClient

from src.app import BillingApp
from src.services.plan_service import PlanService
from tests.support.api import RegisteredUser


def test_unknown_route_is_a_json_404(client: FlaskClient) -> None:
    response = client.get("/api/v1/nowhere")
    assert response.status_code == 404
    assert response.is_json
    assert response.get_json()["error"]["code"] == "not_found"


def test_wrong_method_is_a_json_405(client: FlaskClient) -> None:
    response = client.delete("/api/v1/plans")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_malformed_json_is_400_malformed_json(client: FlaskClient, user: RegisteredUser) -> None:
    response = client.post(
        "/api/v1/user/checkout",
        data='{"plan_id": ',
        headers={**user.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == {
        "code": "malformed_json",
        "message": "The request body is not valid JSON.",
    }


def test_a_body_that_is_not_json_is_415(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/auth/login", data="email=a@b.c", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "unsupported_media_type"


class ExplodingPlanService(PlanService):
    def list_active(self):  # type: ignore[no-untyped-def]
        raise RuntimeError("connection string postgres://admin:hunter2@db")


def test_an_unexpected_error_is_a_bare_500_with_a_request_id(
    app: BillingApp, client: FlaskClient
) -> None:
    app.container.catalog.plan_service.override(
        providers.Factory(ExplodingPlanService, plans=app.container.catalog.plan_repository)
    )
    response = client.get("/api/v1/plans", headers={"X-Request-ID": "req-123"})

    assert response.status_code == 500
    assert "hunter2" not in response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "internal_error"
    assert response.get_json()["error"]["request_id"] == "req-123"
    assert response.headers["X-Request-ID"] == "req-123"


def test_every_response_carries_a_request_id(client: FlaskClient) -> None:
    minted = client.get("/api/v1/plans").headers["X-Request-ID"]
    unsafe = client.get("/api/v1/plans", headers={"X-Request-ID": "<script>"})
    assert len(minted) == 32
    assert unsafe.headers["X-Request-ID"] != "<script>"
