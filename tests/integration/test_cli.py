"""flask catalog seed and flask users create-admin."""

from typing import Any, TypeVar

from flask.testing import FlaskCliRunner
from sqlalchemy import select

from src.app import BillingApp
from src.extensions import db
from src.models.addon import AddOn
from src.models.plan import Plan
from src.models.token_bundle import TokenBundle
from src.models.user import User, UserRole
from tests.support.api import ApiClient

CatalogItemT = TypeVar("CatalogItemT", Plan, TokenBundle, AddOn)


def rows_of(model: type[CatalogItemT]) -> list[tuple[Any, ...]]:
    return [(r.id, r.code, r.price, r.updated_at) for r in db.session.scalars(select(model))]


def snapshot(app: BillingApp) -> list[tuple[Any, ...]]:
    with app.app_context():
        return sorted(rows_of(Plan) + rows_of(TokenBundle) + rows_of(AddOn), key=str)


def test_seed_is_idempotent(app: BillingApp, runner: FlaskCliRunner, count_rows: Any) -> None:
    first = runner.invoke(args=["catalog", "seed"])
    before = snapshot(app)
    second = runner.invoke(args=["catalog", "seed"])

    assert first.exit_code == second.exit_code == 0
    assert "9 created" in first.output
    assert "0 created, 9 already present" in second.output
    assert snapshot(app) == before
    assert (count_rows(Plan), count_rows(TokenBundle), count_rows(AddOn)) == (3, 4, 2)


def role_of(app: BillingApp, email: str) -> UserRole | None:
    with app.app_context():
        return db.session.scalar(select(User.role).where(User.email == email))


def test_create_admin_creates_an_admin_who_can_log_in(
    app: BillingApp, runner: FlaskCliRunner, client: Any
) -> None:
    result = runner.invoke(
        args=["users", "create-admin", "Boss@Example.com", "--password", "s3cret-pass"]
    )
    assert result.exit_code == 0, result.output
    assert role_of(app, "boss@example.com") is UserRole.ADMIN
    login = client.post(
        "/api/v1/auth/login", json={"email": "boss@example.com", "password": "s3cret-pass"}
    )
    assert login.status_code == 200


def test_create_admin_promotes_an_existing_user(
    app: BillingApp, runner: FlaskCliRunner, api: ApiClient
) -> None:
    user = api.register()
    result = runner.invoke(args=["users", "create-admin", user.email, "--promote"])
    assert result.exit_code == 0, result.output
    assert "is now an admin" in result.output
    assert role_of(app, user.email) is UserRole.ADMIN


def test_create_admin_needs_a_password_for_a_new_user(
    app: BillingApp, runner: FlaskCliRunner
) -> None:
    result = runner.invoke(
        args=["users", "create-admin", "new@example.com"], env={"ADMIN_PASSWORD": None}
    )
    assert result.exit_code != 0
    assert "password" in result.output.lower()
    assert role_of(app, "new@example.com") is None


def test_create_admin_refuses_a_short_password(app: BillingApp, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["users", "create-admin", "new@example.com", "--password", "short"])
    assert result.exit_code != 0
    assert role_of(app, "new@example.com") is None
