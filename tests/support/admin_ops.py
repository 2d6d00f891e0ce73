"""An admin for a test, and the admin's token grant (in-process, on the test's database)."""

import uuid

from src.app import BillingApp
from tests.support.api import ApiClient, RegisteredUser


def make_admin(app: BillingApp) -> RegisteredUser:
    api = ApiClient(app.test_client())
    registered = api.register()
    result = app.test_cli_runner().invoke(
        args=["users", "create-admin", registered.email, "--promote"]
    )
    assert result.exit_code == 0, result.output
    return api.login(registered.email)


def grant(app: BillingApp, admin: RegisteredUser, user_id: uuid.UUID, amount: int) -> None:
    granted = app.test_client().post(
        f"/api/v1/admin/users/{user_id}/tokens/adjust",
        json={"amount": amount, "reason": "test grant"},
        headers=admin.headers,
    )
    assert granted.status_code == 200, granted.get_json()
