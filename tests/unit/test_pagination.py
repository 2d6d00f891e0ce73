"""Opaque keyset cursors: what we issue decodes back; anything else is 400 invalid_cursor."""

import base64
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from src.errors import ValidationFailed
from src.pagination import (
    Cursor,
    SequenceCursor,
    decode_cursor,
    decode_sequence_cursor,
    encode_cursor,
    encode_sequence_cursor,
)

CREATED_AT = datetime(2024, 5, 17, 12, 30, 45, 123456, tzinfo=timezone.utc)
ROW_ID = uuid.UUID("8c7d5e3c-1b2a-4f00-9a6b-0123456789ab")


def _token(payload: object) -> str:
    """Encode any JSON value the way the API encodes cursors."""
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def test_encode_decode_round_trip() -> None:
    cursor = Cursor(created_at=CREATED_AT, id=ROW_ID)

    assert decode_cursor(encode_cursor(cursor)) == cursor


def test_round_trip_keeps_a_non_utc_offset_as_the_same_instant() -> None:
    plus_two = CREATED_AT.astimezone(timezone(timedelta(hours=2)))

    decoded = decode_cursor(encode_cursor(Cursor(created_at=plus_two, id=ROW_ID)))

    assert decoded is not None
    assert decoded.created_at == CREATED_AT
    assert decoded.created_at.utcoffset() == timedelta(hours=2)


def test_encoded_cursor_is_url_safe_and_unpadded() -> None:
    for _ in range(20):
        token = encode_cursor(Cursor(created_at=CREATED_AT, id=uuid.uuid4()))

        assert "=" not in token
        assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@pytest.mark.parametrize("token", [None, ""])
def test_no_cursor_means_the_first_page(token: str | None) -> None:
    assert decode_cursor(token) is None


def test_decode_accepts_a_padded_token() -> None:
    padded = base64.urlsafe_b64encode(
        json.dumps([CREATED_AT.isoformat(), str(ROW_ID)]).encode()
    ).decode()

    assert decode_cursor(padded) == Cursor(created_at=CREATED_AT, id=ROW_ID)


@pytest.mark.parametrize(
    "token",
    [
        "not a cursor!",
        "@@@@",
        "a",
        "é",
        base64.urlsafe_b64encode(b"\xff\xfe\xfa").decode(),
        base64.urlsafe_b64encode(b"not json").decode(),
    ],
)
def test_garbage_is_an_invalid_cursor(token: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        decode_cursor(token)

    assert caught.value.code == "invalid_cursor"
    assert caught.value.status_code == 400


def test_naive_timestamp_is_an_invalid_cursor() -> None:
    token = _token([CREATED_AT.replace(tzinfo=None).isoformat(), str(ROW_ID)])

    with pytest.raises(ValidationFailed) as caught:
        decode_cursor(token)

    assert caught.value.code == "invalid_cursor"


@pytest.mark.parametrize(
    "payload",
    [
        [],
        [CREATED_AT.isoformat()],
        [CREATED_AT.isoformat(), str(ROW_ID), "extra"],
        5,
        None,
        "ab",
        {"created_at": CREATED_AT.isoformat()},
        [None, str(ROW_ID)],
        [12345, str(ROW_ID)],
        ["yesterday", str(ROW_ID)],
        [CREATED_AT.isoformat(), "not-a-uuid"],
        [CREATED_AT.isoformat(), None],
    ],
    ids=repr,
)
def test_wrong_json_shape_is_an_invalid_cursor(payload: object) -> None:
    with pytest.raises(ValidationFailed) as caught:
        decode_cursor(_token(payload))

    assert caught.value.code == "invalid_cursor"


@pytest.mark.parametrize(
    "payload",
    [
        ["2024-01-01T00:00:00+00:00", 5],
        {"2024-01-01T00:00:00+00:00": 1, "x": 2},
    ],
)
def test_a_cursor_of_the_wrong_types_is_invalid_not_a_crash(payload: object) -> None:
    with pytest.raises(ValidationFailed) as caught:
        decode_cursor(_token(payload))
    assert caught.value.code == "invalid_cursor"


def test_sequence_cursor_round_trip_and_refusals() -> None:
    token = encode_sequence_cursor(SequenceCursor(sequence=42))
    assert decode_sequence_cursor(token) == SequenceCursor(sequence=42)
    assert decode_sequence_cursor(None) is None
    for bad in (_token(["seq", 0]), _token(["seq", "4"]), _token(["other", 4]), "%%%"):
        with pytest.raises(ValidationFailed):
            decode_sequence_cursor(bad)
    with pytest.raises(ValidationFailed):
        decode_cursor(token)
