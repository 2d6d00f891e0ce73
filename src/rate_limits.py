"""Rate limits (Flask-Limiter): who may try how often, checked before any handler runs.

Each limit is a Flask-Limiter string from the settings (``RATELIMIT_*``), read per request:

- ``login_limits``: ``RATELIMIT_LOGIN`` per e-mail (across IPs) and per IP (across e-mails);
- ``register_limit``: ``RATELIMIT_REGISTER`` per IP;
- ``payments_limit``: ``RATELIMIT_PAYMENTS`` per signed-in user, one budget shared by ``pay``,
  ``verify`` and ``payment-methods/setup`` (each turns into payment provider calls);
- the service limit: ``RATELIMIT_SERVICE`` per API key, one budget shared by every write
  (POST, PUT, PATCH, DELETE) under ``/api/v1/service/``. It is an application-wide limit
  chosen by path, so routes added there (holds, releases) are covered without a decorator.

Over a limit: 429 ``rate_limited`` with ``Retry-After`` (seconds), and nothing was done.

Every other request skips the limiter (``_no_limit_applies``): Flask-Limiter would otherwise
resolve and evaluate its limits for each of them only to find none: 14 % of a balance read's
instructions, 9 % of a consume's (bench/README.md). As a request filter alone it still ran
its hooks to learn that (another 9 % of a read), so ``_gate_hooks`` asks first.
"""

import functools
import hashlib
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from flask import Flask, Response, current_app, g, jsonify, request
from flask_jwt_extended import get_jwt_identity
from flask_limiter import ApplicationLimit, Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address

from src.clock import utc_now

SERVICE_PREFIX = "/api/v1/service/"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

P = ParamSpec("P")
R = TypeVar("R")

# Set on each view a decorator below limits; the request filter spares every other view.
_LIMITED_VIEW = "_rate_limited_view"


def _setting(name: str) -> Callable[[], str]:
    """A limit string read from the app's configuration at request time."""

    def limit() -> str:
        return str(current_app.config[name])

    return limit


def ip_key() -> str:
    return f"ip:{get_remote_address()}"


def email_key() -> str:
    """The e-mail of a login attempt (normalised); a body without one counts by IP."""
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    if not isinstance(email, str) or not email.strip():
        return ip_key()
    return f"email:{email.strip().lower()}"


def user_key() -> str:
    """The signed-in user (the blueprint's ``verify_jwt_in_request`` has run already)."""
    return f"user:{get_jwt_identity()}"


def api_key_key() -> str:
    """The presented API key, hashed (no secret in the limits' storage); none: by IP."""
    presented = request.headers.get("X-API-Key")
    if not presented:
        return ip_key()
    return "apikey:" + hashlib.sha256(presented.encode()).hexdigest()


def _is_service_write() -> bool:
    return request.path.startswith(SERVICE_PREFIX) and request.method in WRITE_METHODS


def _not_a_service_write() -> bool:
    return not _is_service_write()


def _marked(view: Callable[P, R]) -> Callable[P, R]:
    setattr(view, _LIMITED_VIEW, True)
    return view


def is_limited_view(view: object) -> bool:
    return bool(getattr(view, _LIMITED_VIEW, False))


def _no_limit_applies() -> bool:
    """A Flask-Limiter request filter: True (exempt from every limit) unless the request is a
    service write or its view carries a decorator's limit, the only limits there are."""
    if _is_service_write():
        return False
    view = current_app.view_functions.get(request.endpoint or "")
    return not is_limited_view(view)


def build_limiter() -> Limiter:
    """The unbound extension (``src.extensions.limiter``); ``init_rate_limits`` binds it."""
    limiter = Limiter(
        ip_key,
        application_limits=[
            ApplicationLimit(
                limit_provider=_setting("RATELIMIT_SERVICE"),
                key_function=api_key_key,
                scope="service",
                exempt_when=_not_a_service_write,
            )
        ],
    )
    # Kept beside the gate: any other way into Flask-Limiter's checks honours it too.
    limiter.request_filter(_no_limit_applies)
    return limiter


def _limiter() -> Limiter:
    from src.extensions import limiter

    return limiter


def login_limits(view: Callable[P, R]) -> Callable[P, R]:
    """``RATELIMIT_LOGIN`` per e-mail and, separately, per IP."""
    limiter = _limiter()
    by_email = limiter.limit(_setting("RATELIMIT_LOGIN"), key_func=email_key, scope="email")
    by_ip = limiter.limit(_setting("RATELIMIT_LOGIN"), key_func=ip_key, scope="ip")
    return _marked(by_ip(by_email(view)))


def register_limit(view: Callable[P, R]) -> Callable[P, R]:
    """``RATELIMIT_REGISTER`` per IP."""
    return _marked(
        _limiter().limit(_setting("RATELIMIT_REGISTER"), key_func=ip_key, scope="ip")(view)
    )


def payments_limit(view: Callable[P, R]) -> Callable[P, R]:
    """``RATELIMIT_PAYMENTS`` per user, shared by every route it decorates."""
    shared = _limiter().shared_limit(
        _setting("RATELIMIT_PAYMENTS"), scope="payments", key_func=user_key
    )
    return _marked(shared(view))


def _retry_after(error: RateLimitExceeded) -> int:
    current = _limiter().current_limit
    if current is not None and current.breached:
        # reset_at is a whole second past the window's end: never more than the window.
        return max(1, int(current.reset_at - utc_now().timestamp()))
    return max(1, error.limit.limit.get_expiry())


_LIMITS_APPLY = "limits_apply"  # on flask.g: the gate's answer, asked once per request


def _limits_apply() -> bool:
    """Asked by the gated before-request hook; a hook that runs without it (an earlier
    before-request hook answered) runs as Flask-Limiter would."""
    return bool(g.get(_LIMITS_APPLY, True))


def _gate_hooks(app: Flask, registered: Callable[[], None]) -> None:
    """Run ``registered`` (Flask-Limiter's ``init_app``) and wrap the hooks it adds to the
    app so that each runs only where a limit can apply.

    Flask-Limiter 4 adds a before-request check, an after-request header injection and a
    teardown for every request, and has no switch to leave them out. With the request
    filter alone they found no limit, but only after identifying the view, resolving and
    evaluating an empty list of limits, and reading their per-request context. Its hooks
    are found by comparing Flask's hook lists before and after, not by their private names.
    A decorated view's own check comes from its decorator, not from these hooks, and always
    runs.
    """
    before = {name: list(getattr(app, name).get(None, [])) for name in _HOOK_LISTS}
    registered()
    for name, wrap in _HOOK_LISTS.items():
        hooks = getattr(app, name).get(None, [])
        hooks[:] = [hook if hook in before[name] else wrap(hook) for hook in hooks]


def _gated_before(hook: Callable[[], object]) -> Callable[[], object]:
    @functools.wraps(hook)
    def gated() -> object:
        applies = not _no_limit_applies()
        setattr(g, _LIMITS_APPLY, applies)
        return hook() if applies else None

    return gated


def _gated_after(hook: Callable[[Response], Response]) -> Callable[[Response], Response]:
    @functools.wraps(hook)
    def gated(response: Response) -> Response:
        return hook(response) if _limits_apply() else response

    return gated


def _gated_teardown(
    hook: Callable[[BaseException | None], None],
) -> Callable[[BaseException | None], None]:
    @functools.wraps(hook)
    def gated(error: BaseException | None) -> None:
        if _limits_apply():
            hook(error)

    return gated


_HOOK_LISTS: dict[str, Callable[[Any], Any]] = {
    "before_request_funcs": _gated_before,
    "after_request_funcs": _gated_after,
    "teardown_request_funcs": _gated_teardown,
}


def init_rate_limits(app: Flask) -> None:
    """Bind the limiter to ``app`` and answer a breach as the API's other errors are."""
    limiter = _limiter()
    _gate_hooks(app, lambda: limiter.init_app(app))

    @app.errorhandler(RateLimitExceeded)
    def handle_rate_limited(error: RateLimitExceeded) -> tuple[Response, int]:
        retry_after = _retry_after(error)
        message = f"Too many requests ({error.description}); retry in {retry_after} s."
        response = jsonify({"error": {"code": "rate_limited", "message": message}})
        response.headers["Retry-After"] = str(retry_after)
        return response, 429
