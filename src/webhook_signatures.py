"""Signed webhooks in Stripe's scheme: ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">``.

The generic payment webhook uses the same scheme as Stripe, so the official SDK's verifier
checks the signature: it accepts several ``v1`` values (secret rotation) and compares in
constant time. The age check is ours, on the same (first) ``t=`` the SDK signed over, both
ways: older than the tolerance or further in the future are refused. All of it happens
before anything in the body is parsed.
"""

import stripe
from pydantic import SecretStr

from src.clock import utc_now
from src.errors import ServiceUnavailable, Unauthorized


def _first_timestamp(header: str) -> int:
    """The first ``t=`` of the header: the one the SDK verified the signature against."""
    for part in header.split(","):
        key, _, value = part.partition("=")
        if key.strip() == "t":
            return int(value)
    raise ValueError("no timestamp in the signature header")


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
            stripe.WebhookSignature.verify_header(payload.decode("utf-8"), header, self._secret)
            timestamp = _first_timestamp(header or "")
        except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError) as error:
            raise self._invalid() from error
        current = now if now is not None else utc_now().timestamp()
        if abs(current - timestamp) > self._tolerance:
            raise self._invalid()

    @staticmethod
    def _invalid() -> Unauthorized:
        return Unauthorized(
            "The webhook signature is missing, wrong or too old.", code="invalid_signature"
        )
