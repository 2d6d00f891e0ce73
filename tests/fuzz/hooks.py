"""Schemathesis hooks for the fuzz gate (loaded through ``hooks`` in schemathesis.toml).

The document names its opaque cursors by ``format`` (src/schemas/common.py): a client only
ever sends one it was given as ``next_cursor``. These strategies generate such cursors, encoded
by the app's own encoder, so positive tests page through lists; negative tests still send
arbitrary strings and must get the documented 400.
"""

from datetime import timezone

import schemathesis
from hypothesis import strategies as st

from src.pagination import Cursor, SequenceCursor, encode_cursor, encode_sequence_cursor

keyset_cursors = st.builds(
    Cursor, created_at=st.datetimes(timezones=st.just(timezone.utc)), id=st.uuids()
).map(encode_cursor)
ledger_cursors = st.builds(
    SequenceCursor, sequence=st.integers(min_value=1, max_value=2**31 - 1)
).map(encode_sequence_cursor)

schemathesis.openapi.format("cursor", keyset_cursors)
schemathesis.openapi.format("ledger-cursor", ledger_cursors)
