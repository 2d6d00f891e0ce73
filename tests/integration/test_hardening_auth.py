"""Who may call, and what leaks (issue 13): tokens that must not be honoured, admin creation
on every boot, the production JWT secret, and what failures and logs may say."""

import logging
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from flask_jwt_extended import create_access_token, decode_token
from sqlalchemy import select, text

from src.app import BillingApp, create_app
from src.config import Settings
from src.extensions import db
from src.models.invoice import Invoice
from src.models.payment import Payment, PaymentStatus
from src.models.token_ledger import TokenTransaction
from src.models.user import User, UserRole
from tests.conftest import TEST_SETTINGS
from tests.support.api import ApiClient, RegisteredUser, bearer
from tests.support.catalog import CatalogBuilder
from tests.support.conflicts import every_ledger_insert_conflicts
from tests.support.webhooks import capture_payload, post_webhook

CHECKOUT = "/api/v1/user/checkout"
AUTO_RELOAD = "/api/v1/user/tokens/auto-reload"
BALANCE = "/api/v1/user/tokens/balance"


def count(app: BillingApp, model: Any) -> int:
    with app.app_context():
        return len(db.session.scalars(select(model)).all())


def role_of(app: BillingApp, email: str) -> UserRole | None:
    with app.app_context():
        return db.session.scalar(select(User.role).where(User.email == email))


def token_for(app: BillingApp, subject: str, *, expires: bool = True, role: str = "user") -> str:
    """A token signed with the app's own key (so only its claims can make it invalid)."""
    with app.app_context():
        token: str = create_access_token(
            identity=subject,
            additional_claims={"role": role},
            expires_delta=None if expires else False,
        )
    return token


def assert_invalid_token(response: Any) -> None:
    assert response.status_code == 401, response.get_json()
    assert response.get_json()["error"]["code"] == "invalid_token"


# --- 4. tokens -------------------------------------------------------------------------


def test_a_token_whose_user_was_deleted_is_401_everywhere(
    app: BillingApp, api: ApiClient, client: FlaskClient, catalog: CatalogBuilder
) -> None:
    gone = api.register()
    bundle = str(catalog.bundle())
    with app.app_context():
        db.session.execute(
            text("DELETE FROM user_token_balances WHERE user_id = :id"), {"id": gone.id}
        )
        db.session.execute(text("DELETE FROM users WHERE id = :id"), {"id": gone.id})
        db.session.commit()

    answers = [
        client.post(CHECKOUT, json={"token_bundle_ids": [bundle]}, headers=gone.headers),
        client.put(
            AUTO_RELOAD,
            json={"enabled": True, "threshold": 5, "bundle_id": bundle},
            headers=gone.headers,
        ),
        client.get(BALANCE, headers=gone.headers),
    ]

    for response in answers:
        assert_invalid_token(response)
    assert count(app, Invoice) == 0
    assert count(app, User) == 0


def test_a_token_without_exp_is_401(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    admin: RegisteredUser,
    catalog: CatalogBuilder,
) -> None:
    forever = token_for(app, str(user.id), expires=False)
    forever_admin = token_for(app, str(admin.id), expires=False, role="admin")
    with app.app_context():
        assert "exp" not in decode_token(forever)
    ledger_before = count(app, TokenTransaction)

    checkout = client.post(
        CHECKOUT, json={"token_bundle_ids": [str(catalog.bundle())]}, headers=bearer(forever)
    )
    adjust = client.post(
        f"/api/v1/admin/users/{user.id}/tokens/adjust",
        json={"amount": 5, "reason": "forever"},
        headers=bearer(forever_admin),
    )

    assert_invalid_token(checkout)
    assert_invalid_token(adjust)
    assert count(app, Invoice) == 0
    assert count(app, TokenTransaction) == ledger_before
    # The same user with an expiring token is served: only the missing exp was refused.
    assert client.get(BALANCE, headers=bearer(token_for(app, str(user.id)))).status_code == 200


def test_a_token_naming_no_uuid_is_401(app: BillingApp, client: FlaskClient) -> None:
    assert_invalid_token(client.get(BALANCE, headers=bearer(token_for(app, "not-a-uuid"))))
    assert_invalid_token(client.get(BALANCE, headers=bearer(token_for(app, str(uuid.uuid4())))))


# --- 10. create-admin, the JWT secret, what failures and logs say ----------------------


def test_create_admin_never_promotes_an_existing_account_without_promote(
    app: BillingApp, api: ApiClient, runner: FlaskCliRunner
) -> None:
    squatter = api.register()

    refused = runner.invoke(args=["users", "create-admin", squatter.email])

    assert refused.exit_code == 2, refused.output
    assert "--promote" in refused.output
    assert role_of(app, squatter.email) is UserRole.USER
    promoted = runner.invoke(args=["users", "create-admin", squatter.email, "--promote"])
    assert promoted.exit_code == 0, promoted.output
    assert "is now an admin" in promoted.output
    assert role_of(app, squatter.email) is UserRole.ADMIN


def test_create_admin_on_every_boot_is_idempotent_for_the_admin(
    app: BillingApp, runner: FlaskCliRunner, client: FlaskClient
) -> None:
    """bin/run and the container entrypoint run it at each start with ADMIN_PASSWORD set."""
    env = {"ADMIN_PASSWORD": "boot-pass-123"}
    first = runner.invoke(args=["users", "create-admin", "boot@example.com"], env=env)
    again = runner.invoke(args=["users", "create-admin", "Boot@Example.com"], env=env)
    other = runner.invoke(
        args=["users", "create-admin", "boot@example.com"], env={"ADMIN_PASSWORD": "another-pass"}
    )

    assert first.exit_code == 0 and "created as admin" in first.output, first.output
    assert again.exit_code == 0 and "already an admin" in again.output, again.output
    assert other.exit_code == 0, other.output
    assert count(app, User) == 1
    # The password is the first one still: a boot never resets it.
    login = client.post(
        "/api/v1/auth/login", json={"email": "boot@example.com", "password": "boot-pass-123"}
    )
    assert login.status_code == 200


@pytest.mark.parametrize("secret", ["change-me-too", "x" * 31])
def test_production_refuses_a_jwt_secret_under_32_bytes(
    database_url: str, tmp_path: Any, secret: str
) -> None:
    settings = {**TEST_SETTINGS, "APP_ENV": "production", "DATABASE_URL": database_url}
    with pytest.raises(RuntimeError, match="at least 32 bytes"):
        create_app({**settings, "JWT_SECRET_KEY": secret, "INSTANCE_PATH": str(tmp_path)})
    long_enough = Settings(**{**settings, "JWT_SECRET_KEY": "x" * 32})
    assert long_enough.flask_config(str(tmp_path))["JWT_SECRET_KEY"] == "x" * 32
    # Outside production a short secret still runs (local experiments).
    testing = Settings(**{**TEST_SETTINGS, "JWT_SECRET_KEY": secret, "DATABASE_URL": database_url})
    assert testing.flask_config(str(tmp_path))["JWT_SECRET_KEY"] == secret


def test_a_broken_capture_records_no_exception_name(
    app: BillingApp,
    api: ApiClient,
    client: FlaskClient,
    user: RegisteredUser,
    admin: RegisteredUser,
    catalog: CatalogBuilder,
) -> None:
    invoice = api.checkout(user, token_bundle_ids=(catalog.bundle(),))["invoice"]
    with every_ledger_insert_conflicts(app):
        response = post_webhook(client, capture_payload(invoice, reference="PAY-BROKEN"))

    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "database_conflict"
    with app.app_context():
        kept = db.session.scalars(select(Payment)).all()
        assert [(p.status, p.error_code) for p in kept] == [
            (PaymentStatus.FAILED, "internal_error")
        ]
        message = kept[0].error_message or ""
    assert "Error" not in message and "Exception" not in message, message
    listed = client.get("/api/v1/admin/payments", headers=admin.headers).get_json()["items"]
    assert [item["error_message"] for item in listed] == [message]
    assert api.balance(user)["balance"] == 0


def test_the_audit_log_names_users_by_id_not_e_mail(
    api: ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="billing.events")

    registered = api.register()

    audit = [r.getMessage() for r in caplog.records if r.name == "billing.events"]
    assert any(str(registered.id) in line for line in audit), audit
    assert not any(registered.email in line for line in audit), audit
