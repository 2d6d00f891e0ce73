"""UsageService over the fakes: who pays for a use, replays per reference, and refunds."""

import uuid
from datetime import timedelta

import pytest

from src.clock import utc_now
from src.errors import Conflict, PaymentRequired, Unprocessable
from src.models.token_ledger import TokenTransactionType as Kind
from src.models.token_usage import TokenUsage, UsageSource, UsageStatus
from src.services.usage_service import USAGE_REFERENCE
from tests.unit.builders import PAYER, Billing
from tests.unit.fakes import FakeTokenRepository, FakeUsageRepository, FakeUserRepository

OTHER = uuid.UUID("00000000-0000-4000-8000-0000000000c2")


class WatchedUsages(FakeUsageRepository):
    """Records, at each claim, what the user had already been charged (ledger, trial)."""

    def __init__(self, tokens: FakeTokenRepository, users: FakeUserRepository) -> None:
        super().__init__()
        self.tokens, self.users = tokens, users
        self.seen_at_claim: list[tuple[int, int]] = []  # (ledger entries, trial left)

    def try_claim(self, usage: TokenUsage) -> bool:
        user = self.users.get(usage.user_id)
        trial = user.trial_remaining if user is not None else -1
        self.seen_at_claim.append((len(self.tokens.transactions), trial))
        return super().try_claim(usage)


class RacingUsages(FakeUsageRepository):
    """A concurrent consume of the same reference committed after our pre-check: ``find``
    misses ``misses`` times, then sees the winner; the claim itself always meets it."""

    def __init__(self, misses: int) -> None:
        super().__init__()
        self.misses = misses

    def find(self, user_id: uuid.UUID, reference: str) -> TokenUsage | None:
        if self.misses > 0:
            self.misses -= 1
            return None
        return super().find(user_id, reference)


def usage_entries(billing: Billing, kind: Kind) -> list[tuple[int, str | None, uuid.UUID | None]]:
    return [
        (t.amount, t.reference_type, t.reference_id)
        for t in billing.tokens.transactions
        if t.transaction_type is kind
    ]


def test_the_usage_row_is_claimed_before_anything_is_charged(billing: Billing) -> None:
    billing.usages = WatchedUsages(billing.tokens, billing.users)
    billing.user(trial_remaining=1)
    billing.grant(PAYER, 5)

    billing.usage_service().consume(PAYER, 2, "job-1", None)  # trial
    billing.usage_service().consume(PAYER, 2, "job-2", None)  # tokens

    assert billing.usages.seen_at_claim == [(1, 1), (1, 0)]
    assert billing.balance(PAYER) == 3


def test_an_active_subscription_pays_and_keeps_trial_and_tokens(billing: Billing) -> None:
    billing.user(trial_remaining=2)
    billing.grant(PAYER, 5)
    billing.subscribed(PAYER, billing.plan())

    usage = billing.usage_service().consume(PAYER, 3, "job-1", "render").usage

    assert (usage.source, usage.charged_tokens, usage.balance_after) == (
        UsageSource.SUBSCRIPTION,
        0,
        5,
    )
    assert (billing.trial_left(PAYER), billing.balance(PAYER)) == (2, 5)
    assert usage_entries(billing, Kind.USAGE) == []


def test_a_metered_subscription_pays_with_tokens_and_never_with_the_trial(
    billing: Billing,
) -> None:
    billing.user(trial_remaining=2)
    billing.grant(PAYER, 5)
    billing.subscribed(PAYER, billing.plan(metered=True))

    usage = billing.usage_service().consume(PAYER, 3, "job-1", None).usage

    assert (usage.source, usage.charged_tokens, usage.balance_after) == (UsageSource.TOKENS, 3, 2)
    assert billing.trial_left(PAYER) == 2


@pytest.mark.parametrize("subscribed", ["none", "expired"])
def test_without_an_active_subscription_the_trial_pays_first(
    billing: Billing, subscribed: str
) -> None:
    billing.user(trial_remaining=1)
    billing.grant(PAYER, 5)
    if subscribed == "expired":
        billing.subscribed(PAYER, billing.plan(), expires_at=utc_now() - timedelta(seconds=1))

    usage = billing.usage_service().consume(PAYER, 3, "job-1", None).usage

    assert (usage.source, usage.charged_tokens, usage.balance_after) == (UsageSource.TRIAL, 0, 5)
    assert (billing.trial_left(PAYER), billing.balance(PAYER)) == (0, 5)


def test_without_trial_tokens_pay_with_a_usage_entry_about_the_use(billing: Billing) -> None:
    billing.user()
    billing.grant(PAYER, 5)

    result = billing.usage_service().consume(PAYER, 3, "job-1", None, api_key_id=None)

    usage = result.usage
    assert not result.replayed
    assert (usage.source, usage.status, usage.charged_tokens, usage.balance_after) == (
        UsageSource.TOKENS,
        UsageStatus.CHARGED,
        3,
        2,
    )
    assert usage_entries(billing, Kind.USAGE) == [(-3, USAGE_REFERENCE, usage.id)]
    assert billing.tokens.entries_for(PAYER)[-1].description == "Use job-1"
    assert billing.usages.get(usage.id) is usage


@pytest.mark.rolled_back
def test_short_of_tokens_is_insufficient_tokens_and_nothing_is_taken(billing: Billing) -> None:
    billing.user()
    billing.grant(PAYER, 2)

    with pytest.raises(PaymentRequired) as caught:
        billing.usage_service().consume(PAYER, 3, "job-1", None)

    assert caught.value.code == "insufficient_tokens"
    assert caught.value.details == {"balance": 2, "required": 3}
    assert billing.balance(PAYER) == 2 and usage_entries(billing, Kind.USAGE) == []


def test_the_same_reference_replays_the_first_answer_without_charging(billing: Billing) -> None:
    billing.user()
    billing.grant(PAYER, 5)
    first = billing.usage_service().consume(PAYER, 2, "job-1", None)

    again = billing.usage_service().consume(PAYER, 2, "job-1", None)

    assert again.replayed and again.usage is first.usage
    assert billing.balance(PAYER) == 3 and len(usage_entries(billing, Kind.USAGE)) == 1
    assert billing.usages.claims == [(PAYER, "job-1")]  # the replay found it, claimed nothing


def test_the_same_reference_for_another_amount_is_usage_reference_reused(
    billing: Billing,
) -> None:
    billing.user()
    billing.grant(PAYER, 5)
    billing.usage_service().consume(PAYER, 2, "job-1", None)

    with pytest.raises(Unprocessable) as caught:
        billing.usage_service().consume(PAYER, 3, "job-1", None)

    assert (caught.value.code, caught.value.status_code) == ("usage_reference_reused", 422)
    assert billing.balance(PAYER) == 3


def test_a_reference_is_unique_per_user_only(billing: Billing) -> None:
    for user in (PAYER, OTHER):
        billing.user(user)
        billing.grant(user, 5)

    results = [billing.usage_service().consume(u, 2, "job-1", None) for u in (PAYER, OTHER)]

    assert [r.replayed for r in results] == [False, False]
    assert (billing.balance(PAYER), billing.balance(OTHER)) == (3, 3)


def test_a_lost_claim_race_replays_the_winner_without_charging(billing: Billing) -> None:
    billing.usages = RacingUsages(misses=1)
    billing.user()
    billing.grant(PAYER, 5)
    winner = billing.usage_service().consume(PAYER, 2, "job-1", None).usage
    billing.usages.misses = 1

    again = billing.usage_service().consume(PAYER, 2, "job-1", None)

    assert again.replayed and again.usage is winner
    assert billing.balance(PAYER) == 3


def test_a_lost_claim_whose_winner_is_not_visible_is_usage_in_progress(billing: Billing) -> None:
    billing.usages = RacingUsages(misses=1)
    billing.user()
    billing.grant(PAYER, 5)
    billing.usage_service().consume(PAYER, 2, "job-1", None)
    billing.usages.misses = 2

    with pytest.raises(Conflict) as caught:
        billing.usage_service().consume(PAYER, 2, "job-1", None)

    assert caught.value.code == "usage_in_progress"
    assert billing.balance(PAYER) == 3
