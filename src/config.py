"""Settings from the environment.

Every knob an operator may turn is an environment variable (documented in README and
``.env.example``). Secrets have no defaults: production refuses to start without them, while
development and tests get throw-away random values so a first run needs no setup.
"""

import logging
import secrets
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

logger = logging.getLogger(__name__)

AppEnv = Literal["development", "testing", "production"]


class Settings(BaseSettings):
    """Typed view of the environment; unknown variables are ignored."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=True)

    APP_ENV: AppEnv = "production"
    DATABASE_URL: str | None = None
    SECRET_KEY: SecretStr | None = None
    JWT_SECRET_KEY: SecretStr | None = None
    JWT_ACCESS_TOKEN_MINUTES: int = Field(default=60, ge=1)
    PAYMENT_WEBHOOK_SECRET: SecretStr | None = None
    PAYMENT_WEBHOOK_TOLERANCE_SECONDS: int = Field(default=300, ge=1)
    STRIPE_SECRET_KEY: SecretStr | None = None
    STRIPE_WEBHOOK_SECRET: SecretStr | None = None
    STRIPE_API_BASE: str | None = None
    PAYMENT_SESSION_EXPIRY_MINUTES: int = Field(default=30, ge=1)
    # Where Stripe Checkout sends the customer back (the frontend's pages).
    CHECKOUT_SUCCESS_URL: str = (
        "http://127.0.0.1:5000/checkout/success?session_id={CHECKOUT_SESSION_ID}"
    )
    CHECKOUT_CANCEL_URL: str = "http://127.0.0.1:5000/checkout/cancelled"
    TRIAL_CREDITS: int = Field(default=3, ge=0)
    # Argon2id cost; the defaults follow RFC 9106's low-memory profile. Tests lower them.
    PASSWORD_HASH_TIME_COST: int = Field(default=3, ge=1)
    PASSWORD_HASH_MEMORY_KIB: int = Field(default=65536, ge=8)
    PASSWORD_HASH_PARALLELISM: int = Field(default=4, ge=1)
    DB_POOL_SIZE: int = Field(default=10, ge=1)
    DB_MAX_OVERFLOW: int = Field(default=20, ge=0)
    LOG_LEVEL: str = "INFO"

    def database_uri(self, instance_path: str) -> str:
        """Return the SQLAlchemy URL: ``DATABASE_URL``, or SQLite in the instance folder."""
        if not self.DATABASE_URL:
            return f"sqlite:///{Path(instance_path) / 'billing.db'}"
        url = self.DATABASE_URL
        for alias in ("postgres://", "postgresql://"):
            # SQLAlchemy 2.1 picks psycopg 3 for a bare "postgresql://"; this project ships
            # psycopg2 (the design card's driver), so the driver is named explicitly.
            if url.startswith(alias):
                url = "postgresql+psycopg2://" + url[len(alias) :]
        return url

    def secret(self, name: Literal["SECRET_KEY", "JWT_SECRET_KEY"]) -> str:
        """Return a secret, or a random one outside production (tokens then die on restart)."""
        value: SecretStr | None = getattr(self, name)
        if value is not None and value.get_secret_value():
            return value.get_secret_value()
        if self.APP_ENV == "production":
            raise RuntimeError(
                f"{name} is not set. Set it in the environment (see .env.example), "
                "or set APP_ENV=development for a throw-away local value."
            )
        logger.warning("%s is not set: using a random value for this process only.", name)
        return secrets.token_urlsafe(32)

    def flask_config(self, instance_path: str) -> dict[str, Any]:
        """Translate the settings into Flask and extension configuration keys."""
        uri = self.database_uri(instance_path)
        return {
            "APP_ENV": self.APP_ENV,
            "TESTING": self.APP_ENV == "testing",
            "SECRET_KEY": self.secret("SECRET_KEY"),
            "JWT_SECRET_KEY": self.secret("JWT_SECRET_KEY"),
            "JWT_ACCESS_TOKEN_EXPIRES": self.JWT_ACCESS_TOKEN_MINUTES * 60,
            "SQLALCHEMY_DATABASE_URI": uri,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options(uri, self),
            "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        }


def engine_options(uri: str, settings: Settings) -> dict[str, Any]:
    """Pool settings for PostgreSQL; a generous busy timeout for the embedded SQLite."""
    if uri.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    return {
        "pool_pre_ping": True,
        "pool_size": settings.DB_POOL_SIZE,
        "max_overflow": settings.DB_MAX_OVERFLOW,
        "pool_timeout": 60,
        "connect_args": {"connect_timeout": 5},
    }
