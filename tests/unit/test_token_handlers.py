"""The pay-per-use command handlers: what they answer and which notifications they publish."""

import uuid

import pytest

from src.errors import Conflict, Forbidden, NotFound, ValidationFailed
from src.events.token_events import (
    AutoReloadConfigurationRequestedEvent,
    AutoReloadNeededEvent,
    TokenAdjustmentRequestedEvent,
    TokensConsumedEvent,
    UsageRefundedEvent,
)
from src.events.token_results import AutoReloadSettings, TokenAdjustment, UsageCharge
from src.models.token_ledger import TokenTransactionType as Kind
from src.models.token_usage import UsageSource, UsageStatus
from src.repositories.token_repository import LedgerMismatch
from src.schemas.usage import AdjustTokensResponse
from src.services.token_service import TokenService
from tests.unit.builders import PAYER, Billing
from src.jobs.names import AUTO_RELOAD_TASK
from tests.unit.fakes import FakeTokenRepository
from tests.unit.fakes.jobs import DeferredJob

ADMIN = uuid.UUID("00000000-0000-4000-8000-0000000000e1")


@pytest.fixture
def payer(billing: Billing) -> Billing:
    """PAYER with 20 tokens, no trial, and auto-reload on under 10."""
    billing.user()
    billing.grant(PAYER, 20)
    billing.auto_reload(PAYER, threshold=10)
    return billing


def adjust(billing: Billing, amount: int, user_id: uuid.UUID = PAYER) -> TokenAdjustment:
    event = TokenAdjustmentRequestedEvent(
        admin_id=ADMIN, user_id=user_id, amount=amount, reason="goodwill"
    )
    return billing.adjust_tokens_handler().handle(event).data


def test_a_token_use_publishes_tokens_consumed(payer: Billing) -> None:
    result = payer.consume(PAYER, 5)

    usage_id = result.data.usage.usage_id
    assert result.data.usage == UsageCharge(
        usage_id=usage_id, balance=15, source=UsageSource.TOKENS, charged_tokens=5
    )
    assert not result.data.replayed
    [consumed] = result.notifications
    assert isinstance(consumed, TokensConsumedEvent)
    assert (consumed.user_id, consumed.usage_id, consumed.source) == (PAYER, usage_id, "tokens")
    assert (consumed.charged_tokens, consumed.balance) == (5, 15)


def test_a_token_use_that_falls_under_the_threshold_defers_one_reload_job(
    payer: Billing,
) -> None:
    result = payer.consume(PAYER, 11)

    assert [n.name for n in result.notifications] == ["tokens.consumed", "auto_reload.needed"]
    needed = result.notifications[1]
    assert isinstance(needed, AutoReloadNeededEvent)
    assert (needed.user_id, needed.balance) == (PAYER, 9)
    assert payer.job_queue.jobs == [
        DeferredJob(AUTO_RELOAD_TASK, f"auto-reload:{PAYER}", {"user_id": PAYER})
    ]


def test_uses_while_a_reload_job_waits_defer_no_second_one(payer: Billing) -> None:
    payer.consume(PAYER, 11, reference="first")
    payer.consume(PAYER, 1, reference="second")

    assert len(payer.job_queue.jobs) == 1


def test_landing_exactly_on_the_threshold_needs_no_reload(payer: Billing) -> None:
    assert [n.name for n in payer.consume(PAYER, 10).notifications] == ["tokens.consumed"]
    assert payer.job_queue.jobs == []


def test_no_reload_is_needed_when_auto_reload_is_off(payer: Billing) -> None:
    payer.auto_reloads.rows[PAYER].enabled = False

    assert [n.name for n in payer.consume(PAYER, 15).notifications] == ["tokens.consumed"]
    assert payer.job_queue.jobs == []


@pytest.mark.parametrize("source", [UsageSource.TRIAL, UsageSource.SUBSCRIPTION])
def test_a_use_not_paid_with_tokens_never_needs_a_reload(
    billing: Billing, source: UsageSource
) -> None:
    billing.user(trial_remaining=1)
    billing.auto_reload(PAYER, threshold=10)  # balance 0: far under the threshold
    if source is UsageSource.SUBSCRIPTION:
        billing.subscribed(PAYER, billing.plan())

    result = billing.consume(PAYER, 5)

    assert result.data.usage.source is source
    [consumed] = result.notifications
    assert isinstance(consumed, TokensConsumedEvent) and consumed.source == source.value


def test_a_replay_answers_the_same_and_publishes_nothing(payer: Billing) -> None:
    first = payer.consume(PAYER, 11)

    again = payer.consume(PAYER, 11)

    assert again.data.replayed and again.data.usage == first.data.usage
    assert again.notifications == ()
    assert payer.balance(PAYER) == 9


def test_refund_of_a_use_answers_the_new_balance_and_publishes_usage_refunded(
    payer: Billing,
) -> None:
    usage_id = payer.consume(PAYER, 5).data.usage.usage_id

    result = payer.refund_use(PAYER, usage_id)

    assert (result.data.usage_id, result.data.status) == (usage_id, UsageStatus.REFUNDED)
    assert (result.data.balance, result.data.trial_remaining) == (20, 0)
    [refunded] = result.notifications
    assert isinstance(refunded, UsageRefundedEvent)
    assert (refunded.user_id, refunded.usage_id, refunded.balance) == (PAYER, usage_id, 20)


def test_refund_of_a_trial_use_answers_the_trial_given_back(billing: Billing) -> None:
    billing.user(trial_remaining=1)
    usage_id = billing.consume(PAYER, 5).data.usage.usage_id

    result = billing.refund_use(PAYER, usage_id)

    assert (result.data.balance, result.data.trial_remaining) == (0, 1)


@pytest.mark.parametrize(("amount", "kind", "balance"), [(7, "bonus", 27), (-7, "adjustment", 13)])
def test_an_adjustment_is_a_bonus_or_a_correction_by_the_admin(
    payer: Billing, amount: int, kind: str, balance: int
) -> None:
    adjustment = adjust(payer, amount)

    entry = payer.tokens.entries_for(PAYER)[-1]
    assert adjustment == TokenAdjustment(
        user_id=PAYER,
        transaction_id=entry.id,
        transaction_type=Kind(kind),
        amount=amount,
        balance=balance,
    )
    assert AdjustTokensResponse.from_result(adjustment).model_dump(mode="json") == {
        "user_id": str(PAYER),
        "transaction_id": str(entry.id),
        "type": kind,
        "amount": amount,
        "balance": balance,
    }
    assert (entry.transaction_type, entry.created_by, entry.description) == (
        Kind(kind),
        ADMIN,
        "goodwill",
    )
    assert payer.balance(PAYER) == balance


def test_a_zero_adjustment_is_zero_adjustment(payer: Billing) -> None:
    with pytest.raises(ValidationFailed) as caught:
        adjust(payer, 0)

    assert caught.value.code == "zero_adjustment"
    assert len(payer.tokens.transactions) == 1


def test_a_correction_below_zero_is_balance_would_go_negative(payer: Billing) -> None:
    with pytest.raises(Conflict) as caught:
        adjust(payer, -21)

    assert (caught.value.code, caught.value.status_code) == ("balance_would_go_negative", 409)
    assert caught.value.details == {"balance": 20, "required": 21}
    assert payer.balance(PAYER) == 20 and len(payer.tokens.transactions) == 1


@pytest.mark.parametrize("amount", [5, 0])
def test_adjusting_an_unknown_user_is_user_not_found(billing: Billing, amount: int) -> None:
    with pytest.raises(NotFound) as caught:
        adjust(billing, amount, user_id=uuid.uuid4())

    assert caught.value.code == "user_not_found"
    assert billing.tokens.transactions == []


def test_reconcile_returns_the_repositorys_mismatches() -> None:
    tokens = FakeTokenRepository()
    service = TokenService(tokens=tokens)
    service.adjust(PAYER, 10, "bonus", ADMIN)
    assert service.reconcile() == []
    row = tokens.get_balance(PAYER)
    assert row is not None
    row.balance = 12  # drifted from its ledger

    assert service.reconcile() == [LedgerMismatch(PAYER, 12, 10, 10)]


def test_configure_auto_reload_answers_the_saved_setting(billing: Billing) -> None:
    bundle = billing.bundle()
    event = AutoReloadConfigurationRequestedEvent(
        user_id=PAYER, enabled=True, threshold=25, bundle_id=bundle.id
    )

    answer = billing.configure_auto_reload_handler().handle(event).data

    assert answer == AutoReloadSettings(
        enabled=True, threshold=25, bundle_id=bundle.id, failure_count=0, disabled_reason=None
    )
    assert billing.auto_reloads.rows[PAYER].threshold == 25


def test_no_setting_is_auto_reload_not_found(billing: Billing) -> None:
    with pytest.raises(NotFound) as caught:
        billing.auto_reload_service().settings(PAYER)

    assert caught.value.code == "auto_reload_not_found"


def test_a_refund_asked_by_another_principal_is_forbidden(payer: Billing) -> None:
    usage_id = payer.consume(PAYER, 5).data.usage.usage_id
    other_key = uuid.UUID("00000000-0000-4000-8000-00000000a1e2")

    for api_key_id in (other_key, None):
        with pytest.raises(Forbidden):
            payer.refund_use(PAYER, usage_id, api_key_id=api_key_id)

    assert payer.balance(PAYER) == 15


def test_an_admin_refunds_a_use_the_user_charged(payer: Billing) -> None:
    usage_id = payer.consume(PAYER, 5, api_key_id=None).data.usage.usage_id

    result = payer.refund_use(PAYER, usage_id, api_key_id=None, admin_id=uuid.uuid4())

    assert (result.data.status, result.data.balance) == (UsageStatus.REFUNDED, 20)
