"""Migrations: one head, a schema equal to the models, and a real downgrade."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from src.app import MIGRATIONS_DIRECTORY, BillingApp, create_app
from src.extensions import db
from src.jobs.engine import is_model_object
from tests.conftest import TEST_SETTINGS
from tests.support import database


def test_there_is_exactly_one_head() -> None:
    config = Config(str(Path(MIGRATIONS_DIRECTORY) / "alembic.ini"))
    config.set_main_option("script_location", MIGRATIONS_DIRECTORY)
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, heads


def test_every_revision_is_named_rev_slug_and_has_a_downgrade() -> None:
    for path in sorted(Path(MIGRATIONS_DIRECTORY, "versions").glob("*.py")):
        source = path.read_text()
        revision = path.name.split("_", 1)[0]
        assert f'revision = "{revision}"' in source, path.name
        assert "def downgrade()" in source and source.lstrip().startswith('"""'), path.name


def test_the_migrated_schema_matches_the_models(app: BillingApp) -> None:
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": is_model_object}
        )
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def make_app(url: str) -> BillingApp:
    return create_app({**TEST_SETTINGS, "DATABASE_URL": url})


def dispose(app: BillingApp) -> None:
    app.container.unwire()
    with app.app_context():
        for engine in db.engines.values():  # the session's and the autocommit reads'
            engine.dispose()


@pytest.fixture
def empty_postgres(server_url: str) -> Iterator[str]:
    name = f"billing_migrations_{uuid.uuid4().hex[:10]}"
    database.create_database(server_url, name)
    yield database.with_database(server_url, name)
    database.drop_database(server_url, name)


def tables(app: BillingApp) -> set[str]:
    with app.app_context():
        return set(inspect(db.engine).get_table_names())


def test_upgrade_downgrade_upgrade_on_an_empty_postgres(empty_postgres: str) -> None:
    app = make_app(empty_postgres)
    try:
        with app.app_context():
            upgrade()
        assert {"invoices", "invoice_line_items", "idempotency_keys"} <= tables(app)
        assert {"procrastinate_jobs", "procrastinate_periodic_defers"} <= tables(app)
        with app.app_context():
            downgrade(revision="base")
        assert tables(app) == {"alembic_version"}
        with app.app_context():
            upgrade()
        assert "invoices" in tables(app)
    finally:
        dispose(app)
