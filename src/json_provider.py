"""JSON in and out without floats, and one strict parser for every request body.

Every JSON body the API reads (the routes' bodies through Flask's ``request.get_json`` and the
signed webhook's raw bytes) goes through :func:`loads_request_json`, so the input rules live
in this one place:

- numbers with a fraction become exact ``Decimal``s (``49.000000000000001`` stays what it is
  and is refused by the money rules instead of being rounded to 49.00); ``NaN`` and
  ``Infinity`` are not JSON and are refused;
- a key given twice in one object is refused (``duplicate_json_key``): the last value silently
  winning lets two readers of one body disagree about it;
- nesting deeper than :data:`MAX_JSON_DEPTH` is refused (``json_too_deep``): no request of this
  API nests more than a few levels, and the recursive parser must never hit Python's
  recursion limit (a 2 KB body would answer 500);
- control characters and unpaired surrogates in any string, key or value, are refused
  (``invalid_characters``): PostgreSQL cannot store NUL in text and psycopg2 cannot encode a
  lone surrogate, so both were 500s. Tab, line feed and carriage return are allowed: they are
  legitimate in free text (a note, a description) and harmless to the database.
"""

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, NoReturn

from flask.json.provider import DefaultJSONProvider

from src.errors import DuplicateJsonKey, InvalidCharacters, JsonTooDeep, MalformedJson

MAX_JSON_DEPTH = 32
# C0 controls but \t \n \r, DEL, and UTF-16 surrogates (never valid alone in text).
FORBIDDEN_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object hook that refuses a repeated key instead of keeping its last value."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateJsonKey(
                "A key appears twice in one JSON object.", details={"key": _printable(key)}
            )
        result[key] = value
    return result


def _printable(text: str) -> str:
    """A key as it may be echoed back: forbidden characters escaped, never raw."""
    return FORBIDDEN_CHARACTERS.sub(lambda match: f"\\u{ord(match.group()):04x}", text)[:100]


def _children(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        yield from value.keys()
        yield from value.values()
    elif isinstance(value, list):
        yield from value


def check_json_value(value: Any) -> None:
    """Refuse nesting beyond the limit and forbidden characters anywhere in a parsed value.

    Iterative (an explicit stack), so the check itself cannot overflow Python's stack.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if FORBIDDEN_CHARACTERS.search(item):
                raise InvalidCharacters(
                    "Strings must not contain control characters (other than tab, line feed "
                    "and carriage return) or unpaired surrogates."
                )
        elif isinstance(item, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise _too_deep()
            stack.extend((child, depth + 1) for child in _children(item))


def _too_deep() -> JsonTooDeep:
    return JsonTooDeep(f"JSON may nest at most {MAX_JSON_DEPTH} levels.")


def loads_request_json(data: str | bytes) -> Any:
    """Parse a request body by the rules above; every refusal is a 400 with a stable code."""
    try:
        value = json.loads(
            data,
            parse_float=Decimal,
            parse_constant=_refuse_constant,
            object_pairs_hook=_unique_object,
        )
    except RecursionError as error:
        raise _too_deep() from error
    except ValueError as error:  # JSONDecodeError, invalid UTF-8, a 5,000-digit integer
        raise MalformedJson("The request body is not valid JSON.") from error
    check_json_value(value)
    return value


class DecimalJSONProvider(DefaultJSONProvider):
    """``49.99`` in a request body becomes ``Decimal('49.99')``, never ``49.99000000000000…``.

    ``loads`` is what ``request.get_json`` calls, so every route's body gets the strict rules;
    its refusals are ``ApiError``s (not ``ValueError``s), so Flask passes them on unchanged
    and they render as the API's own 400s.
    """

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads_request_json(s)
