"""JSON in and out without floats: numbers with a fraction parse as Decimal."""

import json
from decimal import Decimal
from typing import Any

from flask.json.provider import DefaultJSONProvider


class DecimalJSONProvider(DefaultJSONProvider):
    """``49.99`` in a request body becomes ``Decimal('49.99')``, never ``49.99000000000000…``."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        kwargs.setdefault("parse_float", Decimal)
        return json.loads(s, **kwargs)
