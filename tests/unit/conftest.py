"""Unit-tier fixtures: fakes and cheap real collaborators, never a database."""

import pytest
from argon2 import PasswordHasher

from src.models.invoice import Invoice
from tests.unit.builders import PAYER, Billing


@pytest.fixture
def hasher() -> PasswordHasher:
    """Real Argon2id with the cheapest parameters: fast, yet a true hash and verify."""
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def billing() -> Billing:
    return Billing()


@pytest.fixture
def invoice(billing: Billing) -> Invoice:
    """PAYER's pending invoice, 228.00 USD: a monthly plan at 49.00, 1 x 50 tokens at 10.00,
    2 x 500 tokens at 80.00 and a yearly add-on at 9.00, in that line order."""
    small, large = billing.bundle(50, "10.00"), billing.bundle(500, "80.00")
    return billing.pending_invoice(
        PAYER,
        plan_id=billing.plan("49.00").id,
        token_bundle_ids=(small.id, large.id, large.id),
        add_on_ids=(billing.add_on("9.00").id,),
    )
