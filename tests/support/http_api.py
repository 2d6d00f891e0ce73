"""The API over real HTTP (requests), for end-to-end tests against a served app."""

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import requests

from tests.support.api import PASSWORD, unique_email

T = TypeVar("T")


@dataclass
class HttpUser:
    id: uuid.UUID
    email: str
    session: requests.Session


class HttpApi:
    def __init__(self, base_url: str) -> None:
        self.base = f"{base_url}/api/v1"

    def register(self) -> HttpUser:
        email = unique_email("e2e")
        response = requests.post(
            f"{self.base}/auth/register", json={"email": email, "password": PASSWORD}, timeout=10
        )
        assert response.status_code == 201, response.text
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        return HttpUser(uuid.UUID(response.json()["user"]["id"]), email, session)

    def login(self, email: str, password: str = PASSWORD) -> requests.Session:
        response = requests.post(
            f"{self.base}/auth/login", json={"email": email, "password": password}, timeout=10
        )
        assert response.status_code == 200, response.text
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        return session

    def bundle_id(self, tokens: int) -> str:
        items = requests.get(f"{self.base}/token-bundles", timeout=10).json()["items"]
        return str(next(item["id"] for item in items if item["token_amount"] == tokens))

    def checkout_bundle(self, user: HttpUser, tokens: int) -> dict[str, Any]:
        response = user.session.post(
            f"{self.base}/user/checkout",
            json={"token_bundle_ids": [self.bundle_id(tokens)]},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        invoice: dict[str, Any] = response.json()["invoice"]
        return invoice

    def pay(self, user: HttpUser, invoice_id: str, expect: int = 201, **body: Any) -> Any:
        response = user.session.post(
            f"{self.base}/user/invoices/{invoice_id}/pay",
            json={"provider": "stripe", **body},
            timeout=30,
        )
        assert response.status_code == expect, response.text
        return response.json()

    def invoice_status(self, user: HttpUser, invoice_id: str) -> str:
        status: str = user.session.get(
            f"{self.base}/user/invoices/{invoice_id}", timeout=10
        ).json()["status"]
        return status

    def balance(self, user: HttpUser) -> int:
        balance: int = user.session.get(f"{self.base}/user/tokens/balance", timeout=10).json()[
            "balance"
        ]
        return balance

    def payments(self, user: HttpUser) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = user.session.get(
            f"{self.base}/user/payments", timeout=10
        ).json()["items"]
        return items

    def verify(self, user: HttpUser, payment_id: str) -> requests.Response:
        return user.session.post(
            f"{self.base}/user/payments/verify", json={"payment_id": payment_id}, timeout=30
        )


def eventually(check: Callable[[], T], timeout: float = 15, interval: float = 0.2) -> T:
    """Poll until ``check()`` is truthy (webhooks arrive about a second late), else fail."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        time.sleep(interval)
