"""Unit-tier fixtures: fakes and cheap real collaborators, never a database."""

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from src.models.auto_reload import AutoReloadSetting
from src.models.invoice import Invoice
from tests.unit.builders import PAYER, Billing

ROLLED_BACK = "rolled_back"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{ROLLED_BACK}: the test ends where the dispatcher would roll back, so the fakes hold "
        "what the rollback would undo and the commit-time checks of ``billing`` are skipped",
    )


@pytest.fixture
def hasher() -> PasswordHasher:
    """Real Argon2id with the cheapest parameters: fast, yet a true hash and verify."""
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def billing(request: pytest.FixtureRequest) -> Iterator[Billing]:
    """The fakes, checked after the test as the database would be at commit: every balance is
    the sum of its ledger, and no payment, usage or auto-reload setting breaks its table's
    CHECK constraints (unless the test is marked ``rolled_back``)."""
    fakes = Billing()
    yield fakes
    if request.node.get_closest_marker(ROLLED_BACK) is not None:
        return
    assert fakes.tokens.ledger_mismatches() == []
    assert fakes.payments.violations() == []
    assert fakes.usages.violations() == []
    assert fakes.auto_reloads.violations() == []


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


@pytest.fixture
def setting(billing: Billing) -> AutoReloadSetting:
    """PAYER: a saved card at the fake Stripe, 5 tokens, reload of 100 tokens at 20.00 under 10."""
    billing.user(PAYER, stripe_customer_id="cus_1")
    billing.provider.saved_method = "pm_card"
    billing.grant(PAYER, 5)
    return billing.auto_reload(PAYER, billing.bundle(100, "20.00"), threshold=10)
