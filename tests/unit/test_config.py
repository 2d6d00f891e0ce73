"""Settings: secrets required in production, random elsewhere; the database URL's defaults.

Every value a test depends on is passed explicitly: keyword arguments win over whatever the
machine's environment holds.
"""

import logging
from pathlib import Path
from typing import Any

import pytest

from src.config import Settings

SECRETS: dict[str, Any] = {"SECRET_KEY": "s" * 32, "JWT_SECRET_KEY": "j" * 32}
NO_SECRETS: dict[str, Any] = {"SECRET_KEY": None, "JWT_SECRET_KEY": None}


@pytest.mark.parametrize("missing", ["SECRET_KEY", "JWT_SECRET_KEY"])
@pytest.mark.parametrize("empty", [None, ""])
def test_production_refuses_a_missing_secret(missing: str, empty: str | None) -> None:
    settings = Settings(APP_ENV="production", DATABASE_URL=None, **{**SECRETS, missing: empty})

    with pytest.raises(RuntimeError, match=missing):
        settings.flask_config("/srv/instance")


def test_production_uses_the_given_secrets() -> None:
    settings = Settings(
        APP_ENV="production", DATABASE_URL="postgresql://db.example/billing", **SECRETS
    )

    config = settings.flask_config("/srv/instance")

    assert config["SECRET_KEY"] == SECRETS["SECRET_KEY"]
    assert config["JWT_SECRET_KEY"] == SECRETS["JWT_SECRET_KEY"]
    assert config["TESTING"] is False


def test_secrets_are_hidden_in_the_settings_repr() -> None:
    settings = Settings(APP_ENV="production", **SECRETS)

    assert SECRETS["SECRET_KEY"] not in repr(settings)
    assert SECRETS["JWT_SECRET_KEY"] not in repr(settings)


@pytest.mark.parametrize("env", ["development", "testing"])
def test_outside_production_missing_secrets_are_random(
    env: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(APP_ENV=env, DATABASE_URL=None, **NO_SECRETS)

    with caplog.at_level(logging.WARNING, logger="src.config"):
        first = settings.flask_config("/srv/instance")
        second = settings.flask_config("/srv/instance")

    values = {first["SECRET_KEY"], first["JWT_SECRET_KEY"], second["SECRET_KEY"]}
    assert len(values) == 3
    assert all(len(value) >= 32 for value in values)
    assert any("SECRET_KEY is not set" in record.getMessage() for record in caplog.records)


def test_development_keeps_secrets_that_are_set() -> None:
    settings = Settings(APP_ENV="development", **SECRETS)

    assert settings.secret("SECRET_KEY") == SECRETS["SECRET_KEY"]
    assert settings.secret("JWT_SECRET_KEY") == SECRETS["JWT_SECRET_KEY"]


@pytest.mark.parametrize("url", [None, ""])
def test_unset_database_url_is_the_embedded_server_in_the_instance_folder(
    url: str | None, tmp_path: Path
) -> None:
    """Outside production: the socket of the embedded PostgreSQL that bin/run starts."""
    settings = Settings(APP_ENV="development", DATABASE_URL=url, **SECRETS)

    uri = settings.database_uri(str(tmp_path))

    assert uri == f"postgresql+psycopg2://postgres:@/billing?host={tmp_path / 'pgdata'}"


def test_production_refuses_to_run_without_a_database_url() -> None:
    settings = Settings(APP_ENV="production", **SECRETS)

    with pytest.raises(RuntimeError, match="DATABASE_URL is not set"):
        settings.database_uri("/unused")


@pytest.mark.parametrize(
    "url",
    ["postgres://user:pw@db.example:5432/billing", "postgresql://user:pw@db.example:5432/billing"],
)
def test_postgres_urls_name_the_psycopg2_driver(url: str) -> None:
    """SQLAlchemy 2.1 would pick psycopg 3 for a bare scheme; the project ships psycopg2."""
    settings = Settings(DATABASE_URL=url, **SECRETS)

    assert settings.database_uri("/unused") == (
        "postgresql+psycopg2://user:pw@db.example:5432/billing"
    )


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg2://user@db.example/billing",
        "postgresql+psycopg://user@db.example/billing",
        "mysql://user@db.example/postgres://not-a-prefix",
    ],
)
def test_other_database_urls_are_kept(url: str) -> None:
    settings = Settings(DATABASE_URL=url, **SECRETS)

    assert settings.database_uri("/unused") == url


def test_postgres_gets_pool_settings() -> None:
    settings = Settings(
        APP_ENV="production",
        DATABASE_URL="postgres://db.example/billing",
        DB_POOL_SIZE=7,
        DB_MAX_OVERFLOW=3,
        JWT_ACCESS_TOKEN_MINUTES=15,
        **SECRETS,
    )

    config = settings.flask_config("/unused")

    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg2://db.example/billing"
    options = config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert (options["pool_size"], options["max_overflow"], options["pool_pre_ping"]) == (
        7,
        3,
        False,
    )
    assert options["pool_recycle"] == 1800
    assert options["connect_args"]["options"] == (
        "-c statement_timeout=5000 -c lock_timeout=3000 "
        "-c idle_in_transaction_session_timeout=30000 -c plan_cache_mode=force_generic_plan"
    )
    reads = config["SQLALCHEMY_BINDS"]["autocommit"]
    # the same pool and timeouts: a bind gets none of the default engine's options
    url = config["SQLALCHEMY_DATABASE_URI"]
    assert reads == {"url": url, "isolation_level": "AUTOCOMMIT", **options}
    assert config["JWT_ACCESS_TOKEN_EXPIRES"] == 15 * 60


def test_stripe_waits_must_fit_well_inside_the_provider_lease() -> None:
    with pytest.raises(ValueError, match="PROVIDER_LEASE_SECONDS"):
        Settings(STRIPE_TIMEOUT_SECONDS=10, STRIPE_MAX_NETWORK_RETRIES=2, PROVIDER_LEASE_SECONDS=30)


def test_the_pool_wait_must_be_shorter_than_the_provider_lease() -> None:
    with pytest.raises(ValueError, match="DB_POOL_TIMEOUT_SECONDS"):
        Settings(DB_POOL_TIMEOUT_SECONDS=30, PROVIDER_LEASE_SECONDS=30)
