"""The app the ``flask`` command loads (``FLASK_APP`` in ``.flaskenv``): bin/run's local settings.

bin/run exports ``APP_ENV=development``, ``INSTANCE_PATH`` and the secrets it generated once
into ``instance/dev-secrets.env``. A ``flask ...`` typed by hand in the project directory reads
the same, so ``flask --help`` lists every command and ``flask jobs list`` reaches the embedded
server bin/run started, with no extra environment. A deployment is left alone: with
``APP_ENV`` or ``DATABASE_URL`` set nothing is assumed (only ``development`` reads the secrets
file), and what it lacks is said in one line instead of a traceback. Variables already in the
environment always win. ``python -m src.serve`` and ``flask --app src.app`` do not
come through here.
"""

import os
from collections.abc import MutableMapping
from pathlib import Path

from dotenv import dotenv_values
from flask.cli import NoAppException

from src.app import BillingApp
from src.app import create_app as create_billing_app

ROOT = Path(__file__).resolve().parent.parent
# Written by bin/run on its first start (git-ignored, inside the instance folder).
LOCAL_SECRETS_FILE = "dev-secrets.env"


def apply_local_settings(environ: MutableMapping[str, str] = os.environ) -> None:
    """Fill ``environ`` with bin/run's defaults where it says nothing."""
    if not environ.get("APP_ENV") and not environ.get("DATABASE_URL"):
        # Neither a deployment nor a choice: the local stack of this checkout.
        environ["APP_ENV"] = "development"
    if environ.get("APP_ENV") != "development":
        return
    instance = Path(environ.get("INSTANCE_PATH") or ROOT / "instance").resolve()
    environ.setdefault("INSTANCE_PATH", str(instance))
    secrets = instance / LOCAL_SECRETS_FILE
    if secrets.is_file():
        for name, value in dotenv_values(secrets).items():
            if value and not environ.get(name):
                environ[name] = value


def create_app() -> BillingApp:
    apply_local_settings()
    try:
        return create_billing_app()
    except RuntimeError as error:
        # A missing secret or DATABASE_URL: Flask prints this one line (not a traceback) and
        # still lists its own commands.
        raise NoAppException(str(error)) from error
