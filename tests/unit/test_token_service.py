"""TokenService over FakeTokenRepository: balances, counters, ledger entries and refusals."""

import uuid
from collections.abc import Iterator

import pytest

from src.errors import PaymentRequired
from src.models.token_ledger import TokenTransactionType as Kind
from src.pagination import SequenceCursor
from src.repositories.base import DuplicateRow
from src.services.token_service import BalanceView, Credit, LedgerReference, TokenService
from tests.unit.builders import Billing

USER = uuid.UUID("00000000-0000-4000-8000-0000000000a1")


@pytest.fixture
def ledger(billing: Billing) -> Iterator[Billing]:
    """The billing fakes, checked after the test: every balance is the sum of its ledger."""
    yield billing
    assert billing.tokens.ledger_mismatches() == []


def ref(kind: str = "token_bundle_purchase") -> LedgerReference:
    return LedgerReference(kind, uuid.uuid4())


def seeded(billing: Billing) -> TokenService:
    """100 tokens bought, 30 used: balance 70, purchased 100, spent 30 (version 2)."""
    service = billing.token_service()
    service.credit_tokens(USER, 100, kind=Kind.PURCHASE, reference=ref(), description="buy")
    service.debit_tokens(USER, 30, kind=Kind.USAGE, reference=ref("usage"), description="use")
    assert service.get_balance(USER) == BalanceView(70, 100, 30)
    return service


@pytest.mark.parametrize(
    ("kind", "amount", "expected"),
    [
        pytest.param(Kind.PURCHASE, 10, BalanceView(80, 110, 30), id="purchase"),
        pytest.param(Kind.USAGE, -10, BalanceView(60, 100, 40), id="usage"),
        pytest.param(Kind.REFUND, 10, BalanceView(80, 100, 20), id="usage-refund"),
        pytest.param(Kind.REFUND, -10, BalanceView(60, 90, 30), id="purchase-refund"),
        pytest.param(Kind.BONUS, 10, BalanceView(80, 100, 30), id="bonus"),
        pytest.param(Kind.ADJUSTMENT, 10, BalanceView(80, 100, 30), id="adjustment-up"),
        pytest.param(Kind.ADJUSTMENT, -10, BalanceView(60, 100, 30), id="adjustment-down"),
    ],
)
def test_each_kind_moves_balance_and_totals_as_counter_deltas_say(
    ledger: Billing, kind: Kind, amount: int, expected: BalanceView
) -> None:
    service = seeded(ledger)
    change = service.credit_tokens if amount > 0 else service.debit_tokens

    entry = change(USER, abs(amount), kind=kind, reference=ref(kind.value), description="x")

    assert service.get_balance(USER) == expected
    assert (entry.amount, entry.transaction_type, entry.balance_after) == (
        amount,
        kind,
        expected.balance,
    )


def test_ledger_entries_carry_sequence_equal_to_version_and_balance_after(ledger: Billing) -> None:
    service = ledger.token_service()

    service.credit_tokens(USER, 10, kind=Kind.PURCHASE, reference=ref(), description="a")
    service.debit_tokens(USER, 3, kind=Kind.USAGE, reference=None, description="b")
    service.credit_tokens(USER, 5, kind=Kind.BONUS, reference=None, description="c")

    entries = ledger.tokens.entries_for(USER)
    assert [(e.sequence, e.amount, e.balance_after) for e in entries] == [
        (1, 10, 10),
        (2, -3, 7),
        (3, 5, 12),
    ]
    row = ledger.tokens.get_balance(USER)
    assert row is not None and (row.version, row.balance) == (3, 12)


def test_entry_records_user_reference_description_and_author(ledger: Billing) -> None:
    reference, admin = ref(), uuid.uuid4()

    entry = ledger.token_service().credit_tokens(
        USER, 7, kind=Kind.ADJUSTMENT, reference=reference, description="fix", created_by=admin
    )

    assert (entry.user_id, entry.reference_type, entry.reference_id) == (
        USER,
        reference.type,
        reference.id,
    )
    assert (entry.description, entry.created_by) == ("fix", admin)
    assert ledger.tokens.transactions == [entry]


def test_debit_beyond_balance_is_insufficient_tokens_and_writes_nothing(ledger: Billing) -> None:
    service = seeded(ledger)
    entries_before = list(ledger.tokens.transactions)

    with pytest.raises(PaymentRequired) as caught:
        service.debit_tokens(USER, 71, kind=Kind.USAGE, reference=ref("usage"), description="x")

    assert (caught.value.status_code, caught.value.code) == (402, "insufficient_tokens")
    assert caught.value.details == {"balance": 70, "required": 71}
    assert service.get_balance(USER) == BalanceView(70, 100, 30)
    row = ledger.tokens.get_balance(USER)
    assert row is not None and row.version == 2
    assert ledger.tokens.transactions == entries_before


def test_debit_of_exactly_the_balance_leaves_zero(ledger: Billing) -> None:
    service = seeded(ledger)

    entry = service.debit_tokens(USER, 70, kind=Kind.USAGE, reference=None, description="all")

    assert (entry.balance_after, service.get_balance(USER).balance) == (0, 0)


def test_debit_without_a_balance_row_is_insufficient_tokens_from_zero(ledger: Billing) -> None:
    service = ledger.token_service()

    with pytest.raises(PaymentRequired) as caught:
        service.debit_tokens(USER, 5, kind=Kind.USAGE, reference=None, description="x")

    assert caught.value.code == "insufficient_tokens"
    assert caught.value.details == {"balance": 0, "required": 5}
    assert service.get_balance(USER) == BalanceView(0, 0, 0)
    assert ledger.tokens.transactions == []


def test_first_credit_for_a_user_without_a_balance_row_opens_it(ledger: Billing) -> None:
    assert ledger.tokens.get_balance(USER) is None
    service = ledger.token_service()

    entry = service.credit_tokens(USER, 25, kind=Kind.PURCHASE, reference=ref(), description="x")

    row = ledger.tokens.get_balance(USER)
    assert row is not None
    assert (row.balance, row.total_purchased, row.total_spent, row.version) == (25, 25, 0, 1)
    assert (entry.sequence, entry.balance_after) == (1, 25)


def test_unknown_user_has_a_zero_balance_view(ledger: Billing) -> None:
    assert ledger.token_service().get_balance(USER) == BalanceView(0, 0, 0)


@pytest.mark.parametrize("amount", [0, -1, -50])
@pytest.mark.parametrize("operation", ["credit_tokens", "debit_tokens"])
def test_non_positive_amounts_raise_value_error(
    ledger: Billing, operation: str, amount: int
) -> None:
    service = seeded(ledger)
    before = list(ledger.tokens.transactions)

    with pytest.raises(ValueError):
        getattr(service, operation)(USER, amount, kind=Kind.BONUS, reference=None, description="x")

    assert service.get_balance(USER) == BalanceView(70, 100, 30)
    assert ledger.tokens.transactions == before


@pytest.mark.rolled_back
def test_second_credit_with_the_same_reference_raises_duplicate_row(billing: Billing) -> None:
    # No ``ledger`` check here: the refused entry's balance change is left for the rollback.
    service, reference = billing.token_service(), ref()
    first = service.credit_tokens(USER, 50, kind=Kind.PURCHASE, reference=reference, description="")

    with pytest.raises(DuplicateRow):
        service.credit_tokens(USER, 50, kind=Kind.PURCHASE, reference=reference, description="")

    assert billing.tokens.transactions == [first]


def test_same_reference_under_another_kind_is_a_new_entry(ledger: Billing) -> None:
    service, reference = ledger.token_service(), ref()
    service.credit_tokens(USER, 50, kind=Kind.PURCHASE, reference=reference, description="buy")

    service.debit_tokens(USER, 50, kind=Kind.REFUND, reference=reference, description="refund")

    assert [e.transaction_type for e in ledger.tokens.entries_for(USER)] == [
        Kind.PURCHASE,
        Kind.REFUND,
    ]


def test_entries_without_a_reference_never_collide(ledger: Billing) -> None:
    service = ledger.token_service()

    for _ in range(3):
        service.credit_tokens(USER, 1, kind=Kind.BONUS, reference=None, description="gift")

    assert service.get_balance(USER).balance == 3


def test_ledger_lists_newest_first_by_sequence_cursor(ledger: Billing) -> None:
    service = ledger.token_service()
    for amount in (1, 2, 3):
        service.credit_tokens(USER, amount, kind=Kind.BONUS, reference=None, description="")

    first = service.list_transactions(USER, 2, None)
    second = service.list_transactions(USER, 2, first.next_cursor)

    assert [e.sequence for e in first.items] == [3, 2]
    assert first.next_cursor == SequenceCursor(2)
    assert ([e.sequence for e in second.items], second.next_cursor) == ([1], None)


def test_credits_of_one_change_read_as_if_credited_one_after_the_other(ledger: Billing) -> None:
    """credit_many: one balance change, the version moved by the number of entries; the
    entries take the sequences up to it, each with its running balance."""
    service = seeded(ledger)  # balance 70, version 2
    credits = [Credit(amount, ref(), f"bundle {amount}") for amount in (50, 100, 500)]

    entries = service.credit_many(USER, credits, kind=Kind.PURCHASE)

    assert [(e.sequence, e.amount, e.balance_after) for e in entries] == [
        (3, 50, 120),
        (4, 100, 220),
        (5, 500, 720),
    ]
    assert [e.description for e in entries] == ["bundle 50", "bundle 100", "bundle 500"]
    assert service.get_balance(USER) == BalanceView(720, 750, 30)
    assert ledger.tokens.balances[USER].version == 5


def test_credits_for_a_user_without_a_balance_row_open_it(ledger: Billing) -> None:
    service = ledger.token_service()

    entries = service.credit_many(
        USER, [Credit(5, ref(), "a"), Credit(7, ref(), "b")], kind=Kind.PURCHASE
    )

    assert [(e.sequence, e.balance_after) for e in entries] == [(1, 5), (2, 12)]
    assert service.get_balance(USER) == BalanceView(12, 12, 0)


def test_a_credit_of_nothing_or_less_is_refused_before_anything_moves(ledger: Billing) -> None:
    service = seeded(ledger)

    with pytest.raises(ValueError):
        service.credit_many(
            USER, [Credit(5, ref(), "a"), Credit(0, ref(), "b")], kind=Kind.PURCHASE
        )

    assert service.get_balance(USER) == BalanceView(70, 100, 30)
