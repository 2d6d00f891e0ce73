"""Flask extensions, created unbound and attached to an app in ``create_app`` (init_app pattern)."""

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from src.models.base import Base
from src.rate_limits import build_limiter
from src.token_cache import CachingJWTManager

# Models derive from our own typed Base; Flask-SQLAlchemy shares its metadata and sessions.
db = SQLAlchemy(metadata=Base.metadata)
migrate = Migrate()
jwt = CachingJWTManager()  # verifies each token once per worker (token_cache.py)
# Rate limits: storage and limits come from the app's settings at init_app.
limiter = build_limiter()
