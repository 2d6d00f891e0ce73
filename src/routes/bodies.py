"""Bodies that must be read raw (signed webhooks) are parsed here, after verification."""

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from src.errors import validation_failed

ModelT = TypeVar("ModelT", bound=BaseModel)


def parse_json_body(model: type[ModelT], raw: bytes) -> ModelT:
    """Validate raw JSON bytes into ``model`` (numbers become exact Decimals): 400 otherwise."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        raise validation_failed(error) from error
