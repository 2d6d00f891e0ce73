"""Bodies that must be read raw (signed webhooks) are parsed here, after verification."""

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from src.errors import validation_failed
from src.json_provider import loads_request_json

ModelT = TypeVar("ModelT", bound=BaseModel)


def parse_json_body(model: type[ModelT], raw: bytes) -> ModelT:
    """Validate raw JSON bytes into ``model``: 400 otherwise.

    The bytes go through the same strict parser as every other body (exact Decimals, no
    duplicate keys, bounded depth, no control characters), never through pydantic's own JSON
    parser, whose floats would turn ``49.000000000000001`` into ``49.0``.
    """
    data = loads_request_json(raw)
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise validation_failed(error) from error
