"""UsageService.refund over the fakes: what a failed use gets back, exactly once."""

import uuid

import pytest

from src.errors import Conflict, Forbidden, NotFound
from src.models.token_ledger import TokenTransactionType as Kind
from src.models.token_usage import TokenUsage, UsageSource, UsageStatus
from src.services.token_service import BalanceView
from src.services.usage_service import USAGE_REFERENCE
from tests.unit.builders import PAYER, Billing
from tests.unit.fakes import FakeUserRepository

OTHER = uuid.UUID("00000000-0000-4000-8000-0000000000c2")
KEY = uuid.UUID("00000000-0000-4000-8000-0000000000d1")  # the API key that charged
OTHER_KEY = uuid.UUID("00000000-0000-4000-8000-0000000000d2")
ADMIN = uuid.UUID("00000000-0000-4000-8000-0000000000e1")


def used(billing: Billing, source: UsageSource, amount: int = 3) -> TokenUsage:
    """PAYER (10 tokens bought) spends one use of ``amount``, paid by ``source``."""
    billing.user(trial_remaining=1 if source is UsageSource.TRIAL else 0)
    billing.grant(PAYER, 10)
    if source is UsageSource.SUBSCRIPTION:
        billing.subscribed(PAYER, billing.plan())
    usage = billing.usage_service().consume(PAYER, amount, "job-1", None, KEY).usage
    assert usage.source is source
    return usage


def test_refund_of_a_token_use_gives_the_tokens_back_with_a_refund_entry(
    billing: Billing,
) -> None:
    usage = used(billing, UsageSource.TOKENS)

    refunded = billing.usage_service().refund(PAYER, usage.id, "timeout", api_key_id=KEY)

    assert refunded is usage
    assert (usage.status, usage.refund_reason) == (UsageStatus.REFUNDED, "timeout")
    assert usage.refunded_at is not None
    assert billing.token_service().get_balance(PAYER) == BalanceView(10, 10, 0)
    entry = billing.tokens.entries_for(PAYER)[-1]
    assert (entry.transaction_type, entry.amount, entry.balance_after) == (Kind.REFUND, 3, 10)
    assert (entry.reference_type, entry.reference_id) == (USAGE_REFERENCE, usage.id)
    assert entry.description == "Refund of use job-1: timeout"


def test_refund_of_a_trial_use_gives_the_trial_credit_back(billing: Billing) -> None:
    usage = used(billing, UsageSource.TRIAL)
    assert billing.trial_left(PAYER) == 0

    billing.usage_service().refund(PAYER, usage.id, None, api_key_id=KEY)

    assert billing.trial_left(PAYER) == 1
    assert usage.status is UsageStatus.REFUNDED
    assert [t.transaction_type for t in billing.tokens.entries_for(PAYER)] == [Kind.PURCHASE]


def test_refund_of_a_subscription_use_moves_nothing(billing: Billing) -> None:
    usage = used(billing, UsageSource.SUBSCRIPTION)

    billing.usage_service().refund(PAYER, usage.id, None, api_key_id=KEY)

    assert usage.status is UsageStatus.REFUNDED
    assert (billing.balance(PAYER), billing.trial_left(PAYER)) == (10, 0)
    assert len(billing.tokens.entries_for(PAYER)) == 1


@pytest.mark.parametrize("source", [UsageSource.TOKENS, UsageSource.TRIAL])
def test_a_second_refund_is_already_refunded_and_gives_nothing_more(
    billing: Billing, source: UsageSource
) -> None:
    usage = used(billing, source)
    billing.usage_service().refund(PAYER, usage.id, None, api_key_id=KEY)
    before = (billing.balance(PAYER), billing.trial_left(PAYER), len(billing.tokens.transactions))

    with pytest.raises(Conflict) as caught:
        billing.usage_service().refund(PAYER, usage.id, None, api_key_id=KEY)

    assert (caught.value.code, caught.value.status_code) == ("already_refunded", 409)
    after = (billing.balance(PAYER), billing.trial_left(PAYER), len(billing.tokens.transactions))
    assert after == before


def test_refund_reads_the_usage_row_locked(billing: Billing) -> None:
    usage = used(billing, UsageSource.TOKENS)

    billing.usage_service().refund(PAYER, usage.id, None, api_key_id=KEY)

    assert billing.usages.locked == [usage.id]


def test_refund_of_another_users_use_is_usage_not_found(billing: Billing) -> None:
    usage = used(billing, UsageSource.TOKENS)
    billing.user(OTHER)

    with pytest.raises(NotFound) as caught:
        billing.usage_service().refund(OTHER, usage.id, None, api_key_id=KEY)

    assert caught.value.code == "usage_not_found"
    assert usage.status is UsageStatus.CHARGED and billing.balance(PAYER) == 7


def test_refund_of_an_unknown_use_is_usage_not_found(billing: Billing) -> None:
    billing.user()

    with pytest.raises(NotFound) as caught:
        billing.usage_service().refund(PAYER, uuid.uuid4(), None, api_key_id=KEY)

    assert caught.value.code == "usage_not_found"


def test_a_replay_after_the_refund_answers_the_refunded_use_without_charging(
    billing: Billing,
) -> None:
    usage = used(billing, UsageSource.TOKENS)
    billing.usage_service().refund(PAYER, usage.id, None, api_key_id=KEY)

    again = billing.usage_service().consume(PAYER, 3, "job-1", None)

    assert again.replayed and again.usage.status is UsageStatus.REFUNDED
    assert billing.balance(PAYER) == 10


def test_fake_change_trial_refuses_to_go_below_zero_like_the_conditional_update() -> None:
    users = FakeUserRepository()
    billing = Billing(users=users)
    billing.user(trial_remaining=1)

    assert users.change_trial(PAYER, -1) == 0
    assert users.change_trial(PAYER, -1) is None
    assert billing.trial_left(PAYER) == 0
    assert users.change_trial(PAYER, +1) == 1
    assert users.change_trial(uuid.uuid4(), +1) is None


@pytest.mark.parametrize("api_key_id", [OTHER_KEY, None], ids=["another key", "the user"])
def test_only_the_key_that_charged_gives_a_use_back(
    billing: Billing, api_key_id: uuid.UUID | None
) -> None:
    usage = used(billing, UsageSource.TOKENS)

    with pytest.raises(Forbidden) as caught:
        billing.usage_service().refund(PAYER, usage.id, None, api_key_id=api_key_id)

    assert (caught.value.code, caught.value.status_code) == ("forbidden", 403)
    assert usage.status is UsageStatus.CHARGED and billing.balance(PAYER) == 7


def test_a_use_charged_with_the_users_token_is_given_back_by_no_key(billing: Billing) -> None:
    billing.user()
    billing.grant(PAYER, 10)
    usage = billing.usage_service().consume(PAYER, 3, "job-1", None).usage

    with pytest.raises(Forbidden):
        billing.usage_service().refund(PAYER, usage.id, None, api_key_id=KEY)
    with pytest.raises(Forbidden):
        billing.usage_service().refund(PAYER, usage.id, None)

    assert billing.balance(PAYER) == 7


@pytest.mark.parametrize("charged_by", [KEY, None], ids=["a key", "the user"])
def test_an_admin_gives_any_use_back_once(billing: Billing, charged_by: uuid.UUID | None) -> None:
    billing.user()
    billing.grant(PAYER, 10)
    usage = billing.usage_service().consume(PAYER, 3, "job-1", None, charged_by).usage

    billing.usage_service().refund(PAYER, usage.id, "support", admin_id=ADMIN)

    assert usage.status is UsageStatus.REFUNDED and billing.balance(PAYER) == 10
    with pytest.raises(Conflict) as caught:
        billing.usage_service().refund(PAYER, usage.id, None, admin_id=ADMIN)
    assert caught.value.code == "already_refunded" and billing.balance(PAYER) == 10
