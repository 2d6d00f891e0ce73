"""Unit-tier fixtures: fakes and cheap real collaborators, never a database."""

import pytest
from argon2 import PasswordHasher

from tests.unit.builders import Billing


@pytest.fixture
def hasher() -> PasswordHasher:
    """Real Argon2id with the cheapest parameters: fast, yet a true hash and verify."""
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def billing() -> Billing:
    return Billing()
