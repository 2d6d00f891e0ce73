"""TokenService.move_held over FakeTokenRepository: holds move available to held, never below
zero; a settle charges part and returns the rest; consume cannot spend what is held."""

import uuid

import pytest

from src.errors import PaymentRequired
from src.models.token_ledger import TokenTransactionType as Kind
from src.services.token_service import BalanceView, LedgerReference, TokenService
from tests.unit.builders import Billing

USER = uuid.UUID("00000000-0000-4000-8000-0000000000b1")


def funded(billing: Billing, amount: int = 50) -> TokenService:
    service = billing.token_service()
    service.credit_tokens(USER, amount, kind=Kind.BONUS, reference=None, description="gift")
    return service


def hold(service: TokenService, amount: int) -> LedgerReference:
    reference = LedgerReference("token_hold", uuid.uuid4())
    service.move_held(
        USER,
        balance_delta=0,
        held_delta=amount,
        kind=Kind.HOLD,
        reference=reference,
        description="hold",
    )
    return reference


def test_a_hold_moves_available_to_held_and_writes_an_entry(billing: Billing) -> None:
    service = funded(billing)
    hold(service, 20)
    view = service.get_balance(USER)
    assert view == BalanceView(50, 0, 0, held=20) and view.available == 30
    entry = billing.tokens.entries_for(USER)[-1]
    assert (entry.transaction_type, entry.amount, entry.held_delta) == (Kind.HOLD, 0, 20)
    assert billing.tokens.ledger_mismatches() == []


def test_a_hold_beyond_available_is_402_with_the_numbers(billing: Billing) -> None:
    service = funded(billing)
    hold(service, 40)
    with pytest.raises(PaymentRequired) as refused:
        hold(service, 11)
    assert refused.value.details == {"available": 10, "required": 11}
    assert len(billing.tokens.entries_for(USER)) == 2


def test_a_user_without_a_balance_row_is_402(billing: Billing) -> None:
    with pytest.raises(PaymentRequired):
        hold(billing.token_service(), 1)


def test_a_settle_charges_part_and_returns_the_rest(billing: Billing) -> None:
    service = funded(billing)
    hold(service, 20)
    service.move_held(
        USER,
        balance_delta=-7,
        held_delta=-20,
        kind=Kind.USAGE,
        reference=LedgerReference("token_usage", uuid.uuid4()),
        description="settle",
    )
    assert service.get_balance(USER) == BalanceView(43, 0, 7, held=0)


def test_a_debit_cannot_spend_held_tokens(billing: Billing) -> None:
    service = funded(billing)
    hold(service, 45)
    with pytest.raises(PaymentRequired):
        service.debit_tokens(USER, 6, kind=Kind.USAGE, reference=None, description="use")
    service.debit_tokens(USER, 5, kind=Kind.USAGE, reference=None, description="use")
    assert service.get_balance(USER) == BalanceView(45, 0, 5, held=45)
