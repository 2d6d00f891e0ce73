"""SignedPayloadVerifier against signatures computed here with hmac (not with stripe's helper)."""

import hashlib
import hmac
import time

import pytest
from pydantic import SecretStr

from src.errors import MalformedSignatureHeader, ServiceUnavailable, Unauthorized
from src.webhook_signatures import SignedPayloadVerifier

SECRET = "whsec_unit_test_secret"
TOLERANCE = 300
BODY = b'{"invoice_id": "00000000-0000-4000-8000-000000000001", "amount": "49.00"}'


def sign(timestamp: int, body: bytes = BODY, secret: str = SECRET) -> str:
    """Hex HMAC-SHA256 of ``b"<t>." + body`` under ``secret``: the scheme's v1 value."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def header(timestamp: int, *signatures: str) -> str:
    return ",".join([f"t={timestamp}", *(f"v1={signature}" for signature in signatures)])


def now() -> int:
    return int(time.time())


@pytest.fixture
def verifier() -> SignedPayloadVerifier:
    return SignedPayloadVerifier(SecretStr(SECRET), tolerance_seconds=TOLERANCE)


def refused(verifier: SignedPayloadVerifier, body: bytes, value: str | None, **kw: float) -> None:
    with pytest.raises(Unauthorized) as caught:
        verifier.verify(body, value, **kw)
    assert (caught.value.status_code, caught.value.code) == (401, "invalid_signature")


def test_valid_signature_is_accepted(verifier: SignedPayloadVerifier) -> None:
    t = now()

    verifier.verify(BODY, header(t, sign(t)))  # no exception is the assertion


@pytest.mark.parametrize("position", ["first", "last"])
def test_any_of_several_v1_values_may_match_for_secret_rotation(
    verifier: SignedPayloadVerifier, position: str
) -> None:
    t = now()
    old = sign(t, secret="whsec_the_previous_secret")
    signatures = [sign(t), old] if position == "first" else [old, sign(t)]

    verifier.verify(BODY, header(t, *signatures))


def test_signature_under_another_secret_is_invalid(verifier: SignedPayloadVerifier) -> None:
    t = now()

    refused(verifier, BODY, header(t, sign(t, secret="whsec_someone_else")))


@pytest.mark.parametrize(
    "body", [BODY.replace(b"49.00", b"0.01"), BODY + b" ", b"", BODY[:-1]], ids=repr
)
def test_tampered_body_is_invalid(verifier: SignedPayloadVerifier, body: bytes) -> None:
    t = now()

    refused(verifier, body, header(t, sign(t)))


def test_signature_for_another_timestamp_is_invalid(verifier: SignedPayloadVerifier) -> None:
    t = now()

    refused(verifier, BODY, header(t, sign(t - 1)))


def malformed(verifier: SignedPayloadVerifier, body: bytes, value: str) -> None:
    with pytest.raises(MalformedSignatureHeader) as caught:
        verifier.verify(body, value)
    assert (caught.value.status_code, caught.value.code) == (400, "malformed_signature_header")


@pytest.mark.parametrize("value", [None, ""])
def test_missing_header_is_invalid(verifier: SignedPayloadVerifier, value: str | None) -> None:
    refused(verifier, BODY, value)


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        "t=,v1=",
        "t=soon,v1=" + "0" * 64,
        "v1=" + "0" * 64,
        "t=1700000000",
        "t=1700000000,v0=" + "0" * 64,
    ],
)
def test_garbled_header_is_malformed(verifier: SignedPayloadVerifier, value: str) -> None:
    malformed(verifier, BODY, value)


def test_header_without_timestamp_but_valid_looking_v1_is_malformed(
    verifier: SignedPayloadVerifier,
) -> None:
    malformed(verifier, BODY, f"v1={sign(now())}")


def test_timestamp_older_than_the_tolerance_is_invalid(verifier: SignedPayloadVerifier) -> None:
    t = now() - TOLERANCE - 30

    refused(verifier, BODY, header(t, sign(t)))


def test_timestamp_just_inside_the_tolerance_is_accepted(verifier: SignedPayloadVerifier) -> None:
    t = now() - TOLERANCE + 30

    verifier.verify(BODY, header(t, sign(t)))


def test_timestamp_beyond_the_tolerance_in_the_future_is_invalid(
    verifier: SignedPayloadVerifier,
) -> None:
    t = now()

    refused(verifier, BODY, header(t, sign(t)), now=t - TOLERANCE - 1)


def test_timestamp_at_the_edge_of_the_future_tolerance_is_accepted(
    verifier: SignedPayloadVerifier,
) -> None:
    t = now()

    verifier.verify(BODY, header(t, sign(t)), now=t - TOLERANCE)


def test_future_timestamp_is_refused_even_with_a_second_current_timestamp_appended(
    verifier: SignedPayloadVerifier,
) -> None:
    t = now()
    future = t + TOLERANCE + 3600

    malformed(verifier, BODY, f"{header(future, sign(future))},t={t}")


@pytest.mark.parametrize("signed", ["raw-bytes", "lossy-decoding"])
def test_non_utf8_body_is_invalid_even_when_signed(
    verifier: SignedPayloadVerifier, signed: str
) -> None:
    body, t = b'{"amount": "\xff\xfe"}', now()
    lossy = body.decode("utf-8", "replace").encode()

    refused(verifier, body, header(t, sign(t, body if signed == "raw-bytes" else lossy)))


@pytest.mark.parametrize("secret", [None, SecretStr("")], ids=["none", "empty"])
def test_missing_secret_is_webhook_not_configured(secret: SecretStr | None) -> None:
    t = now()

    with pytest.raises(ServiceUnavailable) as caught:
        SignedPayloadVerifier(secret, TOLERANCE).verify(BODY, header(t, sign(t)))

    assert (caught.value.status_code, caught.value.code) == (503, "webhook_not_configured")


def test_the_age_check_uses_the_given_clock_both_ways(verifier: SignedPayloadVerifier) -> None:
    """With ``now`` given, verification is repeatable: the real clock plays no part."""
    signed_at = 1_700_000_000
    signed = header(signed_at, sign(signed_at))
    verifier.verify(BODY, signed, now=signed_at + TOLERANCE)
    refused(verifier, BODY, signed, now=signed_at + TOLERANCE + 1)
    refused(verifier, BODY, signed, now=signed_at - TOLERANCE - 1)
