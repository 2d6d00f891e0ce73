"""Bearer tokens verified once per worker, not on every request.

Verifying an HS256 token is a pure function of its bytes and the key, yet flask-jwt-extended
decodes each token three times per request (claims, header, then verified), and PyJWT 2.15
checks every character of every segment in Python: on the balance read that was about a
third of the request's CPU. ``CachingJWTManager`` keeps the claims of tokens it verified,
keyed by (key, token), in a bounded LRU; the only check that depends on the moment, ``exp``,
runs again on every hit (an expired or unknown token goes the library's way, which answers
it as before). Nothing else changes: a token is honoured exactly when it was before.

After verifying, the library also parses the token's header again (``get_unverified_jwt_
headers``, PyJWT's per-character base64 check over the whole token): about 5 % of a
balance read's CPU. ``unverified_headers`` is the same function behind an LRU of the same
size; a token's header is a pure function of its bytes, it is only asked for once the
token was verified, and each caller gets its own copy.
"""

import functools
import threading
from collections import OrderedDict
from typing import Any

from flask_jwt_extended import JWTManager, view_decorators
from flask_jwt_extended.config import config
from flask_jwt_extended.utils import get_unverified_jwt_headers

from src.clock import utc_now

MAX_CACHED_TOKENS = 10_000


class CachingJWTManager(JWTManager):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._verified: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def _decode_jwt_from_config(
        self, encoded_token: str, csrf_value: Any = None, allow_expired: bool = False
    ) -> dict[str, Any]:
        if csrf_value or allow_expired:  # not used by this API: the library decides
            return dict(super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired))
        key = (config.decode_key, encoded_token)
        with self._lock:
            claims = self._verified.get(key)
            if claims is not None:
                self._verified.move_to_end(key)
        if claims is not None and _unexpired(claims):
            return dict(claims)
        claims = dict(super()._decode_jwt_from_config(encoded_token, csrf_value, allow_expired))
        with self._lock:
            self._verified[key] = claims
            if len(self._verified) > MAX_CACHED_TOKENS:
                self._verified.popitem(last=False)
        return dict(claims)


def _unexpired(claims: dict[str, Any]) -> bool:
    """A token without ``exp`` is refused later (security.require_user); here it only needs
    not to be cached as valid forever, so it goes back to the library each time."""
    expires = claims.get("exp")
    if not isinstance(expires, (int, float)):
        return False
    return utc_now().timestamp() < expires - config.leeway


@functools.lru_cache(maxsize=MAX_CACHED_TOKENS)
def _header_items(encoded_token: str) -> tuple[tuple[str, Any], ...]:
    return tuple(get_unverified_jwt_headers(encoded_token).items())


def unverified_headers(encoded_token: str) -> dict[str, Any]:
    """``flask_jwt_extended.utils.get_unverified_jwt_headers``, parsed once per token."""
    return dict(_header_items(encoded_token))


# The library's request path looks the function up in its own module (view_decorators
# imported it by name), so that is where it is replaced; the public utils one is untouched.
if getattr(view_decorators, "get_unverified_jwt_headers", None) is not get_unverified_jwt_headers:
    raise RuntimeError("flask_jwt_extended no longer reads token headers where we cache them")
setattr(view_decorators, "get_unverified_jwt_headers", unverified_headers)
