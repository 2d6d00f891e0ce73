"""Fixtures for every tier.

Integration and end-to-end tests run against a real PostgreSQL: a database is created for the
run (on ``TEST_DATABASE_URL``'s server, default the local one), migrated with ``flask db
upgrade``, truncated after each test and dropped at the end. Where no server answers, the
embedded PostgreSQL (the one bin/run uses) is started in a temporary directory for the session
and removed afterwards, so a machine with Python alone runs the whole suite. Unit tests touch
none of this.
"""

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from flask_migrate import upgrade
from sqlalchemy import text

from src import embedded_postgres
from src.app import BillingApp, create_app
from src.extensions import db
from tests.support import database

TEST_SETTINGS: dict[str, Any] = {
    "APP_ENV": "testing",
    "SECRET_KEY": "test-secret-key",
    "JWT_SECRET_KEY": "test-jwt-secret-key-with-32-bytes!",
    "PAYMENT_WEBHOOK_SECRET": "whsec_test_generic_webhook_secret",
    # Stripe webhooks verify in every test; the Stripe API itself is only reachable in the
    # end-to-end tests, which point STRIPE_API_BASE at localstripe.
    "STRIPE_WEBHOOK_SECRET": "whsec_test_stripe_webhook_secret",
    # Cheap Argon2 parameters: hashing speed is not what these tests measure.
    "PASSWORD_HASH_TIME_COST": 1,
    "PASSWORD_HASH_MEMORY_KIB": 1024,
    "PASSWORD_HASH_PARALLELISM": 1,
    "DB_POOL_SIZE": 20,
    "DB_MAX_OVERFLOW": 60,
    "LOG_LEVEL": "WARNING",
    # Off: the suite logs in and pays far more often than any limit allows. The rate limit
    # tests turn it on with their own small limits (tests/integration/test_rate_limits.py).
    "RATELIMIT_ENABLED": False,
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with its tier, from the folder it lives in."""
    for item in items:
        tier = Path(str(item.fspath)).parent.name
        if tier in ("unit", "integration", "e2e"):
            item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """``TEST_DATABASE_URL``'s server when it answers, else an embedded one for this session."""
    url = database.admin_url()
    if database.is_reachable(url):
        yield url
        return
    # Not under pytest's basetemp: pytest makes that owner-only at every session start, which
    # would lock the server's unprivileged user (as root: ``pgserver``) out of its own data
    # whenever another pytest session starts meanwhile.
    with tempfile.TemporaryDirectory(prefix="billing-test-pg-") as directory:
        server = embedded_postgres.start(Path(directory) / "pgdata")
        try:
            yield server.admin_url
        finally:
            server.stop()


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    """A fresh database for this run, migrated to head by Flask-Migrate."""
    name = f"billing_test_{uuid.uuid4().hex[:12]}"
    database.create_database(server_url, name)
    url = database.with_database(server_url, name)
    app = create_app({**TEST_SETTINGS, "DATABASE_URL": url})
    with app.app_context():
        upgrade()
        for engine in db.engines.values():  # the session's and the autocommit reads'
            engine.dispose()
    app.container.unwire()
    yield url
    database.drop_database(server_url, name)


# Not procrastinate_workers: a worker process may outlive a test (end to end), and its
# registration is what it fetches jobs under.
JOB_ENGINE_TABLES = ("procrastinate_jobs", "procrastinate_events", "procrastinate_periodic_defers")


def _truncate_all(app: BillingApp) -> None:
    with app.app_context():
        # The job engine's jobs too: each test starts with no job and no periodic tick.
        tables = [table.name for table in db.metadata.sorted_tables] + list(JOB_ENGINE_TABLES)
        db.session.execute(text(f"TRUNCATE TABLE {', '.join(tables)} CASCADE"))
        db.session.commit()


@pytest.fixture
def app_settings(database_url: str) -> dict[str, Any]:
    """Override this fixture (or extend the dict) to run a test with other settings."""
    return {**TEST_SETTINGS, "DATABASE_URL": database_url}


@pytest.fixture
def app(app_settings: dict[str, Any]) -> Iterator[BillingApp]:
    application = create_app(app_settings)
    yield application
    _truncate_all(application)
    application.container.unwire()
    with application.app_context():
        for engine in db.engines.values():  # the session's and the autocommit reads'
            engine.dispose()


@pytest.fixture
def client(app: BillingApp) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: BillingApp) -> FlaskCliRunner:
    return app.test_cli_runner()
