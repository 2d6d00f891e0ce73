"""Registration and login payloads."""

import uuid

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from pydantic import EmailStr, Field, field_validator

from src.schemas.common import RequestModel, ResponseModel

MIN_PASSWORD_LENGTH = 8


def _any_case(word: str) -> str:
    return "".join(f"[{letter.lower()}{letter.upper()}]" for letter in word)


# EmailStr refuses addresses in special-use domains (RFC 6761: ``.test``, ``localhost``, ...),
# which JSON Schema's ``email`` format admits; the document says so.
EMAIL_PATTERN = (
    rf"^(?!.*[.@]({'|'.join(_any_case(name) for name in SPECIAL_USE_DOMAIN_NAMES)})$).*$"
)


class Credentials(RequestModel):
    email: EmailStr = Field(json_schema_extra={"pattern": EMAIL_PATTERN})
    # Not stripped: a password is used exactly as typed.
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=1024)

    @field_validator("email")
    @classmethod
    def lower_case_email(cls, value: str) -> str:
        return value.lower()


class LoginRequest(RequestModel):
    """Login checks no format rules: any mismatch is the same 401, whatever was wrong."""

    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1024)

    @field_validator("email")
    @classmethod
    def lower_case_email(cls, value: str) -> str:
        return value.lower()


class UserOut(ResponseModel):
    id: uuid.UUID
    email: str


class RegisterResponse(ResponseModel):
    user: UserOut
    access_token: str
    token_type: str = "Bearer"
    expires_in: int


class LoginResponse(ResponseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int
