"""Settings from the environment.

Every knob an operator may turn is an environment variable (documented in README and
``.env.example``). Secrets have no defaults: production refuses to start without them, while
development and tests get throw-away random values so a first run needs no setup.
"""

import logging
import secrets
from pathlib import Path
from typing import Any, Literal

from limits import parse_many
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from src import embedded_postgres

logger = logging.getLogger(__name__)

AppEnv = Literal["development", "testing", "production"]

# Where bin/run keeps the embedded server's data, inside the instance folder.
EMBEDDED_DATA_DIRECTORY = "pgdata"


# RFC 7518 section 3.2: an HS256 key must be at least as long as the hash (32 bytes).
MIN_JWT_SECRET_BYTES = 32


class Settings(BaseSettings):
    """Typed view of the environment; unknown variables are ignored."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=True)

    APP_ENV: AppEnv = "production"
    DATABASE_URL: str | None = None
    # The instance folder (local secrets, the embedded PostgreSQL's data); default ./instance.
    INSTANCE_PATH: str | None = None
    SECRET_KEY: SecretStr | None = None
    JWT_SECRET_KEY: SecretStr | None = None
    JWT_ACCESS_TOKEN_MINUTES: int = Field(default=60, ge=1)
    PAYMENT_WEBHOOK_SECRET: SecretStr | None = None
    PAYMENT_WEBHOOK_TOLERANCE_SECONDS: int = Field(default=300, ge=1)
    STRIPE_SECRET_KEY: SecretStr | None = None
    STRIPE_WEBHOOK_SECRET: SecretStr | None = None
    STRIPE_API_BASE: str | None = None
    PAYMENT_SESSION_EXPIRY_MINUTES: int = Field(default=30, ge=1)
    # The janitor resolves provider intents left without an outcome for this long.
    JANITOR_AFTER_MINUTES: int = Field(default=5, ge=1)
    # Money a provider confirmed that its invoice could not take (requires_refund) is
    # refunded in full by a job; false: it waits for an admin.
    AUTO_REFUND_UNAPPLIED: bool = True
    # Dunning: days after a renewal's first failed charge on which it is retried ("1,3,5");
    # after the last retry fails the subscription is canceled.
    DUNNING_RETRY_DAYS: str = "1,3,5"
    # Access while past due: "until_last_retry" (keep it until dunning gives up), "none", or
    # a number of days after the period ended.
    DUNNING_GRACE: str = "until_last_retry"
    # A checkout invoice left unpaid this long expires, with what it would have bought.
    INVOICE_EXPIRY_DAYS: int = Field(default=7, ge=1, le=365)
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
    # How long a request waits for a pooled connection before it answers 503. It must stay
    # below PROVIDER_LEASE_SECONDS, so a saturated pool is a clear 503 long before a lease
    # taken in the same request could run out.
    DB_POOL_TIMEOUT_SECONDS: int = Field(default=10, ge=1)
    # Server-side limits on every connection (PostgreSQL settings, in milliseconds): a slow
    # statement, a lock wait and a transaction left open are cut short instead of piling up.
    DB_STATEMENT_TIMEOUT_MS: int = Field(default=5000, ge=0)
    DB_LOCK_TIMEOUT_MS: int = Field(default=3000, ge=0)
    DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: int = Field(default=30000, ge=0)
    # How long a request, job or janitor call holds the lease on a provider call (a payment
    # start, a refund, a lifecycle charge) before another may try. Nothing kills its holder
    # at this mark (the HTTP server, granian, has no worker timeout, and jobs never had one):
    # each wait of a holder has its own limit, checked at start to fit well inside the lease,
    # and a call repeated after a lease ran out carries the same idempotency key.
    PROVIDER_LEASE_SECONDS: int = Field(default=30, ge=5)
    # Stripe: per-request network timeout and the SDK's own retries (with backoff). Together
    # they stay well below PROVIDER_LEASE_SECONDS (checked at start).
    STRIPE_TIMEOUT_SECONDS: int = Field(default=5, ge=1)
    STRIPE_MAX_NETWORK_RETRIES: int = Field(default=1, ge=0, le=5)
    # Job engine (procrastinate): attempts of a failing job before it is marked failed.
    JOB_MAX_ATTEMPTS: int = Field(default=5, ge=1)
    # Retention (the daily job): idempotency keys and processed webhook events older than this.
    IDEMPOTENCY_KEY_RETENTION_HOURS: int = Field(default=24, ge=1)
    WEBHOOK_EVENT_RETENTION_DAYS: int = Field(default=30, ge=1)
    LOG_LEVEL: str = "INFO"
    # The largest request body read (bytes); larger is a JSON 413 ``payload_too_large``
    # before anything parses it. No request of this API comes near 1 MiB.
    MAX_CONTENT_LENGTH: int = Field(default=1024 * 1024, ge=1024)
    # Rate limits (Flask-Limiter). Storage: a redis:// URI shares the counters between workers
    # and hosts; unset: in memory, per process. Each limit is a Flask-Limiter string
    # ("10/minute", "100/hour;1000/day").
    RATELIMIT_ENABLED: bool = True
    RATELIMIT_STORAGE_URI: str | None = None
    # Per e-mail and, separately, per client IP.
    RATELIMIT_LOGIN: str = "10/minute"
    RATELIMIT_REGISTER: str = "10/hour"
    # Per user, shared by pay, payments/verify and payment-methods/setup (provider calls).
    RATELIMIT_PAYMENTS: str = "20/minute"
    # Per API key, shared by every write under /api/v1/service/ (consume, holds, releases).
    RATELIMIT_SERVICE: str = "600/minute"

    @field_validator("DUNNING_RETRY_DAYS")
    @classmethod
    def _retry_days(cls, value: str) -> str:
        from src.services.dunning_policy import parse_retry_days

        parse_retry_days(value)
        return value

    @field_validator("DUNNING_GRACE")
    @classmethod
    def _grace(cls, value: str) -> str:
        from src.services.dunning_policy import parse_grace

        parse_grace(value)
        return value

    @field_validator(
        "RATELIMIT_LOGIN", "RATELIMIT_REGISTER", "RATELIMIT_PAYMENTS", "RATELIMIT_SERVICE"
    )
    @classmethod
    def _a_rate_limit(cls, value: str) -> str:
        """A limit that Flask-Limiter cannot parse is refused at start, not at a request."""
        try:
            parse_many(value)
        except ValueError as error:
            raise ValueError(f"not a rate limit ({value!r}): {error}") from error
        return value

    def database_url(self, instance_path: str) -> str:
        """``DATABASE_URL``, or the embedded PostgreSQL that bin/run started in instance/."""
        if self.DATABASE_URL:
            return self.DATABASE_URL
        if self.APP_ENV == "production":
            raise RuntimeError("DATABASE_URL is not set (postgresql://user:pass@host/db).")
        return embedded_postgres.running_url(Path(instance_path) / EMBEDDED_DATA_DIRECTORY)

    def database_uri(self, instance_path: str) -> str:
        """The SQLAlchemy URL of ``database_url``, naming the psycopg2 driver."""
        url = self.database_url(instance_path)
        for alias in ("postgres://", "postgresql://"):
            # SQLAlchemy 2.1 picks psycopg 3 for a bare "postgresql://"; this project ships
            # psycopg2 (the design card's driver), so the driver is named explicitly.
            if url.startswith(alias):
                url = "postgresql+psycopg2://" + url[len(alias) :]
        return url

    @model_validator(mode="after")
    def _limits_fit_the_provider_lease(self) -> "Settings":
        """A lease that ran out should mean its holder is gone: its provider call and its wait
        for a connection must end well before, or a second caller is let in needlessly."""
        stripe_worst_case = self.STRIPE_TIMEOUT_SECONDS * (self.STRIPE_MAX_NETWORK_RETRIES + 1)
        lease = self.PROVIDER_LEASE_SECONDS
        if stripe_worst_case * 2 > lease:
            raise ValueError(
                "STRIPE_TIMEOUT_SECONDS x (STRIPE_MAX_NETWORK_RETRIES + 1) must stay under half "
                f"of PROVIDER_LEASE_SECONDS ({stripe_worst_case}s vs {lease}s)"
            )
        if self.DB_POOL_TIMEOUT_SECONDS >= lease:
            raise ValueError("DB_POOL_TIMEOUT_SECONDS must be shorter than PROVIDER_LEASE_SECONDS")
        return self

    def secret(self, name: Literal["SECRET_KEY", "JWT_SECRET_KEY"]) -> str:
        """Return a secret, or a random one outside production (tokens then die on restart)."""
        value: SecretStr | None = getattr(self, name)
        if value is not None and value.get_secret_value():
            secret = value.get_secret_value()
            if (
                name == "JWT_SECRET_KEY"
                and self.APP_ENV == "production"
                and len(secret.encode()) < MIN_JWT_SECRET_BYTES
            ):
                # HS256 with a short secret can be brute-forced offline from one token.
                raise RuntimeError(
                    f"JWT_SECRET_KEY must be at least {MIN_JWT_SECRET_BYTES} bytes in production "
                    "(python -c 'import secrets; print(secrets.token_urlsafe(48))')."
                )
            return secret
        if self.APP_ENV == "production":
            raise RuntimeError(
                f"{name} is not set. Set it in the environment (see .env.example), "
                "or set APP_ENV=development for a throw-away local value."
            )
        logger.warning("%s is not set: using a random value for this process only.", name)
        return secrets.token_urlsafe(32)

    def flask_config(self, instance_path: str) -> dict[str, Any]:
        """Translate the settings into Flask and extension configuration keys."""
        # Secrets first: a production start without them names them before anything else.
        secret_key, jwt_secret_key = self.secret("SECRET_KEY"), self.secret("JWT_SECRET_KEY")
        uri = self.database_uri(instance_path)
        return {
            "APP_ENV": self.APP_ENV,
            "TESTING": self.APP_ENV == "testing",
            "SECRET_KEY": secret_key,
            "JWT_SECRET_KEY": jwt_secret_key,
            "JWT_ACCESS_TOKEN_EXPIRES": self.JWT_ACCESS_TOKEN_MINUTES * 60,
            "MAX_CONTENT_LENGTH": self.MAX_CONTENT_LENGTH,
            "SQLALCHEMY_DATABASE_URI": uri,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options(uri, self),
            # The same database in autocommit: a single-statement read (or the consume that
            # is its own transaction) needs no BEGIN and no COMMIT/ROLLBACK around it. The
            # same options, spelled out: Flask-SQLAlchemy gives a bind none of the default
            # engine's, and a connection without the timeouts would wait on a lock forever.
            "SQLALCHEMY_BINDS": {
                READ_BIND: {
                    "url": uri,
                    "isolation_level": "AUTOCOMMIT",
                    **engine_options(uri, self),
                }
            },
            "SQLALCHEMY_TRACK_MODIFICATIONS": False,
            "RATELIMIT_ENABLED": self.RATELIMIT_ENABLED,
            "RATELIMIT_STORAGE_URI": self.RATELIMIT_STORAGE_URI or "memory://",
            # Redis unreachable: count in this process's memory meanwhile rather than answer
            # 500 to every limited route (limits stay in force, per worker, until it is back).
            "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
            "RATELIMIT_SWALLOW_ERRORS": True,
            "RATELIMIT_LOGIN": self.RATELIMIT_LOGIN,
            "RATELIMIT_REGISTER": self.RATELIMIT_REGISTER,
            "RATELIMIT_PAYMENTS": self.RATELIMIT_PAYMENTS,
            "RATELIMIT_SERVICE": self.RATELIMIT_SERVICE,
        }


READ_BIND = "autocommit"
POOL_RECYCLE_SECONDS = 1800  # below common idle-connection cut-offs of proxies and servers


def engine_options(uri: str, settings: Settings) -> dict[str, Any]:
    """Pool settings, and the server-side timeouts every connection starts with."""
    return {
        # No pre-ping: it was a round trip on every checkout (two per request). A connection
        # that died meanwhile fails its first statement instead; SQLAlchemy then invalidates
        # the whole pool, the request answers 503 database_unavailable, the next reconnects.
        "pool_pre_ping": False,
        "pool_recycle": POOL_RECYCLE_SECONDS,
        "pool_size": settings.DB_POOL_SIZE,
        "max_overflow": settings.DB_MAX_OVERFLOW,
        "pool_timeout": settings.DB_POOL_TIMEOUT_SECONDS,
        "connect_args": {"connect_timeout": 5, "options": session_options(settings)},
    }


def session_options(settings: Settings) -> str:
    """libpq ``options``: PostgreSQL settings applied when each connection opens (no query)."""
    return " ".join(
        (
            f"-c statement_timeout={settings.DB_STATEMENT_TIMEOUT_MS}",
            f"-c lock_timeout={settings.DB_LOCK_TIMEOUT_MS}",
            "-c idle_in_transaction_session_timeout="
            f"{settings.DB_IDLE_IN_TRANSACTION_TIMEOUT_MS}",
            # Only server-side prepared statements use the plan cache: the app's own (the
            # one-statement consume, repositories/prepared.py) and plpgsql functions. Left to
            # "auto", PostgreSQL kept re-planning the consume (~1.5 ms) for every execution.
            "-c plan_cache_mode=force_generic_plan",
        )
    )
