"""Fuzz-tier fixtures: the marker (the gate itself is tests/fuzz/test_schemathesis.py)."""

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "fuzz: schemathesis against the app served for real on PostgreSQL"
    )
