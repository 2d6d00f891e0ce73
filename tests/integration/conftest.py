"""Fixtures for HTTP tests against PostgreSQL."""

from collections.abc import Iterator
from typing import Any, TypeVar

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select

from src.app import BillingApp
from src.extensions import db
from src.models.addon import AddOn
from src.models.plan import Plan
from src.models.token_bundle import TokenBundle
from src.repositories.bundle_capture_repository import NOTHING_DONE, BundleCaptureRepository
from tests.support.api import ApiClient, RegisteredUser
from tests.support.catalog import CatalogBuilder
from tests.support.ledger import assert_ledger_consistent


@pytest.fixture(autouse=True)
def ledger_invariant(app: BillingApp) -> Iterator[None]:
    """After every integration test: balance == sum(ledger), newest balance_after == balance."""
    yield
    assert_ledger_consistent(app)


@pytest.fixture
def api(client: FlaskClient) -> ApiClient:
    return ApiClient(client)


@pytest.fixture
def user(api: ApiClient) -> RegisteredUser:
    return api.register()


@pytest.fixture
def admin(api: ApiClient, runner: FlaskCliRunner) -> RegisteredUser:
    """A user promoted with `flask users create-admin` (token issued after promotion)."""
    registered = api.register()
    result = runner.invoke(args=["users", "create-admin", registered.email, "--promote"])
    assert result.exit_code == 0, result.output
    return api.login(registered.email)


@pytest.fixture
def catalog(app: BillingApp) -> CatalogBuilder:
    return CatalogBuilder(app)


@pytest.fixture
def demo_catalog(app: BillingApp, runner: FlaskCliRunner) -> dict[str, Any]:
    """The seeded demo catalog, by code: {"pro-monthly": <uuid>, "tokens-50": <uuid>, ...}."""
    result = runner.invoke(args=["catalog", "seed"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        return {**_codes(Plan), **_codes(TokenBundle), **_codes(AddOn)}


CatalogItemT = TypeVar("CatalogItemT", Plan, TokenBundle, AddOn)


def _codes(model: type[CatalogItemT]) -> dict[str, Any]:
    return {item.code: item.id for item in db.session.scalars(select(model))}


@pytest.fixture
def count_rows(app: BillingApp) -> Any:
    """count_rows(Model) -> number of rows, read in a fresh session."""

    def count(model: Any) -> int:
        with app.app_context():
            return int(db.session.scalar(select(func.count()).select_from(model)) or 0)

    return count


@pytest.fixture
def one_statement_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every capture takes the full path (CaptureService): the one-statement capture of a
    bundles-only checkout always leaves it alone, as when its gate is shut."""
    monkeypatch.setattr(BundleCaptureRepository, "settle", lambda self, request: NOTHING_DONE)
