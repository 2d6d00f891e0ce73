"""HTTP helpers for tests: register users and drive the API like a client would."""

import itertools
import uuid
from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient
from flask_jwt_extended import decode_token

PASSWORD = "correct-horse-battery"
_counter = itertools.count()


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{next(_counter)}-{uuid.uuid4().hex[:8]}@example.com"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True)
class RegisteredUser:
    id: uuid.UUID
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


class ApiClient:
    """One method per API call, asserting the expected status so tests read as stories."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def register(self, email: str | None = None, password: str = PASSWORD) -> RegisteredUser:
        email = email or unique_email()
        response = self.client.post(
            "/api/v1/auth/register", json={"email": email, "password": password}
        )
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        return RegisteredUser(
            id=uuid.UUID(body["user"]["id"]), email=email, token=body["access_token"]
        )

    def login(self, email: str, password: str = PASSWORD) -> RegisteredUser:
        response = self.client.post(
            "/api/v1/auth/login", json={"email": email, "password": password}
        )
        assert response.status_code == 200, response.get_json()
        token = response.get_json()["access_token"]
        with self.client.application.app_context():
            user_id = uuid.UUID(decode_token(token)["sub"])
        return RegisteredUser(id=user_id, email=email, token=token)

    def balance(self, user: RegisteredUser) -> dict[str, Any]:
        """The balance; ``available`` and ``held`` are checked (balance = available + held)
        and left out while nothing is held, so tests without holds compare three numbers."""
        response = self.client.get("/api/v1/user/tokens/balance", headers=user.headers)
        assert response.status_code == 200, response.get_json()
        body: dict[str, Any] = response.get_json()
        assert body["balance"] == body["available"] + body["held"], body
        if body["held"] == 0:
            del body["available"], body["held"]
        return body

    def invoice(self, user: RegisteredUser, invoice_id: str) -> dict[str, Any]:
        response = self.client.get(f"/api/v1/user/invoices/{invoice_id}", headers=user.headers)
        assert response.status_code == 200, response.get_json()
        body: dict[str, Any] = response.get_json()
        return body

    def checkout(
        self,
        user: RegisteredUser,
        *,
        plan_id: Any = None,
        token_bundle_ids: tuple[Any, ...] = (),
        add_on_ids: tuple[Any, ...] = (),
        idempotency_key: str | None = None,
        expect: int = 201,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "token_bundle_ids": [str(item) for item in token_bundle_ids],
            "add_on_ids": [str(item) for item in add_on_ids],
        }
        if plan_id is not None:
            body["plan_id"] = str(plan_id)
        headers = dict(user.headers)
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        response = self.client.post("/api/v1/user/checkout", json=body, headers=headers)
        assert response.status_code == expect, response.get_json()
        result: dict[str, Any] = response.get_json()
        return result
