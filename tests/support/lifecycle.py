"""Driving subscriptions through time in tests: customers with a saved card at localstripe,
a first period paid by an admin, and ``flask billing run-due --now`` as the clock."""

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import stripe
from flask.testing import FlaskClient

from src.app import BillingApp
from tests.support.api import ApiClient, RegisteredUser

API = "/api/v1"
DECLINING_CARD = "pm_card_chargeCustomerFail"


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


def just_after(value: str, seconds: int = 1) -> datetime:
    return instant(value) + timedelta(seconds=seconds)


class Lifecycle:
    """One in-process app (test client and CLI runner) and the test's own Stripe client."""

    def __init__(self, app: BillingApp, sdk: stripe.StripeClient | None = None) -> None:
        self.app = app
        self.client: FlaskClient = app.test_client()
        self.api = ApiClient(self.client)
        self.runner = app.test_cli_runner()
        self.sdk = sdk
        self._admin: RegisteredUser | None = None

    @property
    def admin(self) -> RegisteredUser:
        if self._admin is None:
            registered = self.api.register()
            result = self.runner.invoke(
                args=["users", "create-admin", registered.email, "--promote"]
            )
            assert result.exit_code == 0, result.output
            self._admin = self.api.login(registered.email)
        return self._admin

    def customer(self, card: str | None = "pm_card_visa") -> RegisteredUser:
        """A new user; with ``card``, a Stripe customer whose default card it is (the app
        prepares the SetupIntent; localstripe's confirm does not attach, so the test does)."""
        user = self.api.register()
        if card is not None:
            assert self.sdk is not None
            setup = self.post(user, "/user/payment-methods/setup", {})
            assert setup.status_code == 201, setup.get_json()
            customer = setup.get_json()["customer_id"]
            attached = self.sdk.v1.payment_methods.attach(card, params={"customer": customer})
            self.sdk.v1.customers.update(
                customer, params={"invoice_settings": {"default_payment_method": attached.id}}
            )
        return user

    def post(self, user: RegisteredUser, path: str, body: Any = None) -> Any:
        return self.client.post(f"{API}{path}", json=body, headers=user.headers)

    def get(self, user: RegisteredUser, path: str) -> Any:
        response = self.client.get(f"{API}{path}", headers=user.headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def checkout(self, user: RegisteredUser, plan_id: Any, **more: Any) -> dict[str, Any]:
        return self.api.checkout(user, plan_id=plan_id, **more)

    def mark_paid(self, invoice_id: str) -> Any:
        return self.post(
            self.admin,
            f"/admin/invoices/{invoice_id}/mark-paid",
            {"payment_reference": f"wire-{uuid.uuid4().hex[:12]}"},
        )

    def subscribe(self, user: RegisteredUser, plan_id: Any) -> dict[str, Any]:
        """Checkout of the plan, its first invoice settled by an admin: the subscription."""
        checkout = self.checkout(user, plan_id)
        if checkout["invoice"]["status"] == "pending":
            paid = self.mark_paid(checkout["invoice"]["id"])
            assert paid.status_code == 200, paid.get_json()
        return self.subscription(user, checkout["subscription"]["id"])

    def subscription(self, user: RegisteredUser, subscription_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self.get(user, f"/user/subscriptions/{subscription_id}")
        return body

    def invoices(self, user: RegisteredUser, kind: str | None = None) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.get(user, "/user/invoices?limit=100")["items"]
        return [item for item in items if kind is None or item["kind"] == kind]

    def payments(self, user: RegisteredUser) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.get(user, "/user/payments?limit=100")["items"]
        return items

    def run_due(self, at: datetime) -> dict[str, Any]:
        result = self.runner.invoke(args=["billing", "run-due", "--now", at.isoformat()])
        assert result.exit_code == 0, result.output
        summary: dict[str, Any] = json.loads(result.output)
        return summary

    def history(self, user: RegisteredUser, subscription_id: str) -> list[tuple[str | None, str]]:
        body = self.subscription(user, subscription_id)
        return [(change["from_status"], change["to_status"]) for change in body["history"]]
