"""The application factory: ``flask --app src.app`` and ``python -m src.serve`` (granian)."""

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from src.cli import register_cli
from src.config import Settings
from src.container import Container
from src.errors import register_error_handlers
from src.extensions import db, jwt, migrate
from src.json_provider import DecimalJSONProvider
from src.openapi import spec
from src.rate_limits import init_rate_limits
from src.request_context import register_request_id
from src.routes import register_blueprints
from src.security import register_jwt_handlers
from src.sessions import NoSessions

MIGRATIONS_DIRECTORY = str(Path(__file__).resolve().parent.parent / "migrations")


class BillingApp(Flask):
    """Flask with a typed handle on the dependency-injector container."""

    container: Container
    # A bound on the functions kept by ensure_sync: a request's own after_this_request
    # closures pass through it too, and must not pile up.
    SYNC_FUNCTIONS_KEPT = 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._sync_functions: dict[Callable[..., Any], Callable[..., Any]] = {}
        super().__init__(*args, **kwargs)

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Flask's, with each function's answer kept: Flask asks ``iscoroutinefunction`` of
        every hook and view on every request (2.5 % of a balance read's instructions,
        bench/README.md, eighth session), and the answer never changes for a function."""
        kept = self._sync_functions
        synced = kept.get(func)
        if synced is None:
            if len(kept) >= self.SYNC_FUNCTIONS_KEPT:
                kept.clear()
            synced = kept[func] = super().ensure_sync(func)
        return synced


def create_app(config: Mapping[str, Any] | None = None) -> BillingApp:
    """Build an app from the environment, ``config`` overriding it (tests pass their own).

    Nothing is migrated here: ``flask db upgrade`` is an explicit step (bin/run does it).
    """
    settings = Settings(**dict(config or {}))
    instance_path = str(Path(settings.INSTANCE_PATH).resolve()) if settings.INSTANCE_PATH else None
    app = BillingApp(__name__, instance_path=instance_path)
    app.json = DecimalJSONProvider(app)
    app.session_interface = NoSessions()
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(settings.flask_config(app.instance_path))
    _configure_logging(settings.LOG_LEVEL)

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIRECTORY)
    jwt.init_app(app)

    app.container = Container(settings=settings, database_url=app.config["SQLALCHEMY_DATABASE_URI"])

    register_request_id(app)
    register_error_handlers(app)
    init_rate_limits(app)
    register_jwt_handlers(jwt)
    register_blueprints(app)
    spec.register(app)
    register_cli(app)
    return app


def _configure_logging(level: str) -> None:
    """Plain stdlib logging, unless a server has configured handlers already."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s %(message)s")
    root.setLevel(level.upper())
