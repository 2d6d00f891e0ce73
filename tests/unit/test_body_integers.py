"""BodyInt: JSON integers, as JSON Schema 2020-12 (our OpenAPI 3.1 dialect) counts them."""

from decimal import Decimal
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from src.json_provider import loads_request_json
from src.schemas.common import BodyInt

body_int: TypeAdapter[int] = TypeAdapter(BodyInt)


@pytest.mark.parametrize("text, number", [("2", 2), ("2.0", 2), ("2e3", 2000), ("-4.00", -4)])
def test_a_whole_json_number_is_an_integer(text: str, number: int) -> None:
    assert body_int.validate_python(loads_request_json(text)) == number


@pytest.mark.parametrize("value", [True, "1", Decimal("1.5"), Decimal("1e400"), [1], None])
def test_anything_else_is_refused(value: Any) -> None:
    with pytest.raises(ValidationError):
        body_int.validate_python(value)
