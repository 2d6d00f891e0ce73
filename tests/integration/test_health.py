"""GET /health reports the database, and says 503 when it cannot reach it."""

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from src.app import BillingApp, create_app
from src.extensions import db
from tests.conftest import TEST_SETTINGS


def test_health_is_ok_when_the_database_answers(client: FlaskClient) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


@pytest.fixture
def unreachable_app() -> Iterator[BillingApp]:
    """An app whose database is loopback port 1: every connection is refused at once."""
    app = create_app({**TEST_SETTINGS, "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"})
    yield app
    app.container.unwire()
    with app.app_context():
        for engine in db.engines.values():  # the session's and the autocommit reads'
            engine.dispose()


def test_health_is_503_when_the_database_is_unreachable(unreachable_app: BillingApp) -> None:
    response = unreachable_app.test_client().get("/api/v1/health")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "unreachable"}


def test_other_routes_answer_503_database_unavailable_without_details(
    unreachable_app: BillingApp,
) -> None:
    response = unreachable_app.test_client().get("/api/v1/plans")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "database_unavailable"
    assert "127.0.0.1" not in response.get_data(as_text=True)
