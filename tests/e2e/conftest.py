"""End-to-end fixtures: the app served by gunicorn on loopback, on the test database."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from src.app import BillingApp
from tests.conftest import TEST_SETTINGS
from tests.support.server import free_port, gunicorn_command, serve


def served_env(database_url: str, **extra: Any) -> dict[str, str]:
    settings = {**TEST_SETTINGS, "APP_ENV": "production", "DATABASE_URL": database_url, **extra}
    return {key: str(value) for key, value in settings.items()}


@pytest.fixture(scope="module")
def served_url(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = Path(tmp_path_factory.mktemp("gunicorn")) / "server.log"
    with serve(gunicorn_command(port), served_env(database_url), port, log) as url:
        yield url


@pytest.fixture(autouse=True)
def clean_database(app: BillingApp) -> BillingApp:
    """Depending on ``app`` truncates every table after each test."""
    return app
