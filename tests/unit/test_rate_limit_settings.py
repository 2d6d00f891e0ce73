"""Rate limit settings: documented defaults, and a limit Flask-Limiter cannot parse is refused."""

import pytest
from pydantic import ValidationError

from src.config import Settings


def test_limits_have_defaults_and_reach_the_flask_config() -> None:
    settings = Settings(APP_ENV="testing", DATABASE_URL="postgresql://u@h/db")

    config = settings.flask_config("/tmp")

    assert config["RATELIMIT_ENABLED"] is True
    assert config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert (config["RATELIMIT_LOGIN"], config["RATELIMIT_REGISTER"]) == ("10/minute", "10/hour")
    assert (config["RATELIMIT_PAYMENTS"], config["RATELIMIT_SERVICE"]) == (
        "20/minute",
        "600/minute",
    )


def test_a_redis_storage_is_passed_on() -> None:
    settings = Settings(
        APP_ENV="testing",
        DATABASE_URL="postgresql://u@h/db",
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0",
    )

    assert settings.flask_config("/tmp")["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"


@pytest.mark.parametrize("name", ["RATELIMIT_LOGIN", "RATELIMIT_SERVICE"])
def test_an_unparseable_limit_is_refused_at_start(name: str) -> None:
    with pytest.raises(ValidationError, match="not a rate limit"):
        Settings(APP_ENV="testing", **{name: "ten per minute"})  # type: ignore[arg-type]
