"""Signed webhooks in Stripe's scheme: ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">``.

The generic payment webhook uses the same scheme as Stripe, so the official SDK's verifier
does the work: it accepts several ``v1`` values (secret rotation), compares in constant time
and refuses old timestamps. We add a refusal of timestamps from the future, and we check the
signature before anything in the body is parsed.
"""

import time

import stripe
from pydantic import SecretStr

from src.errors import ServiceUnavailable, Unauthorized


class SignedPayloadVerifier:
    def __init__(self, secret: SecretStr | None, tolerance_seconds: int) -> None:
        self._secret = secret.get_secret_value() if secret is not None else ""
        self._tolerance = tolerance_seconds

    def verify(self, payload: bytes, header: str | None, now: float | None = None) -> None:
        """Raise 401 ``invalid_signature`` unless ``header`` signs ``payload`` recently."""
        if not self._secret:
            raise ServiceUnavailable(
                "This webhook is not configured on the server.", code="webhook_not_configured"
            )
        try:
            stripe.WebhookSignature.verify_header(
                payload.decode("utf-8"), header, self._secret, self._tolerance
            )
            timestamp = int(dict(part.split("=", 1) for part in (header or "").split(","))["t"])
        except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError, KeyError) as e:
            raise self._invalid() from e
        if timestamp > (now if now is not None else time.time()) + self._tolerance:
            raise self._invalid()

    @staticmethod
    def _invalid() -> Unauthorized:
        return Unauthorized(
            "The webhook signature is missing, wrong or too old.", code="invalid_signature"
        )
