"""Signed webhooks in Stripe's scheme: ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">``.

The generic payment webhook uses the same scheme as Stripe, so the official SDK's verifier
checks the signature: it accepts several ``v1`` values (secret rotation) and compares in
constant time. The header is parsed strictly here first: exactly one ``t`` of ASCII digits,
one or more ``v1`` of lower-case hex, nothing else, no blanks, no empty parts (400
``malformed_signature_header`` otherwise). The SDK then verifies the canonical header rebuilt
from what was parsed, and the age check (both ways: older than the tolerance or further in
the future) reads the very same ``t``. Before this, ``t=<now>,t=<old>,v1=<old signature>``
passed: the SDK verified the last ``t`` and the age check read the first. All of it happens
before anything in the body is parsed.
"""

import re
from dataclasses import dataclass

import stripe
from pydantic import SecretStr

from src.clock import utc_now
from src.errors import MalformedSignatureHeader, ServiceUnavailable, Unauthorized

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"[0-9a-f]{1,128}")
MAX_SIGNATURES = 8


@dataclass(frozen=True)
class SignatureHeader:
    timestamp: int
    signatures: tuple[str, ...]

    def canonical(self) -> str:
        """The header as the SDK is given it: exactly the values that were parsed."""
        return ",".join([f"t={self.timestamp}", *(f"v1={value}" for value in self.signatures)])


def parse_signature_header(header: str) -> SignatureHeader:
    """Parse ``t=<digits>,v1=<hex>[,v1=<hex>...]`` strictly; anything else is a 400."""
    timestamps: list[str] = []
    signatures: list[str] = []
    for part in header.split(","):
        key, equals, value = part.partition("=")
        if key == "t" and equals and _TIMESTAMP.fullmatch(value):
            timestamps.append(value)
        elif key == "v1" and equals and _SIGNATURE.fullmatch(value):
            signatures.append(value)
        else:
            raise _malformed("each part must be t=<unix seconds> or v1=<hex>")
    if len(timestamps) != 1:
        raise _malformed("exactly one t= part is required")
    if not 1 <= len(signatures) <= MAX_SIGNATURES:
        raise _malformed(f"one to {MAX_SIGNATURES} v1= parts are required")
    return SignatureHeader(int(timestamps[0]), tuple(signatures))


def _malformed(reason: str) -> MalformedSignatureHeader:
    return MalformedSignatureHeader(
        f"The webhook signature header is malformed: {reason}.",
    )


class SignedPayloadVerifier:
    def __init__(self, secret: SecretStr | None, tolerance_seconds: int) -> None:
        self._secret = secret.get_secret_value() if secret is not None else ""
        self._tolerance = tolerance_seconds

    def verify(self, payload: bytes, header: str | None, now: float | None = None) -> None:
        """Raise 401 ``invalid_signature`` unless ``header`` signs ``payload`` recently (400
        ``malformed_signature_header`` for a header that is there but not well-formed)."""
        if not self._secret:
            raise ServiceUnavailable(
                "This webhook is not configured on the server.", code="webhook_not_configured"
            )
        if not header:
            raise self._invalid()
        parsed = parse_signature_header(header)
        try:
            stripe.WebhookSignature.verify_header(
                payload.decode("utf-8"), parsed.canonical(), self._secret
            )
        except (stripe.SignatureVerificationError, UnicodeDecodeError) as error:
            raise self._invalid() from error
        current = now if now is not None else utc_now().timestamp()
        if abs(current - parsed.timestamp) > self._tolerance:
            raise self._invalid()

    @staticmethod
    def _invalid() -> Unauthorized:
        return Unauthorized(
            "The webhook signature is missing, wrong or too old.", code="invalid_signature"
        )
