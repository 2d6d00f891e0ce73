"""The common consume in one round trip, and the decision when it cannot be.

Most uses are paid with tokens by a caller with a fresh reference, no covering subscription
and no trial credit left. For those, one statement (``UsageChargeRepository``) records the
use, takes the tokens and writes the ledger entry, as a transaction of its own: the one
round trip of the request. A use that takes the balance under an armed auto-reload
threshold runs the same statement in the command's transaction instead, which the handler
then completes with the reload job. Everything else (a replayed reference,
a subscription, a trial credit, an unknown user, a refusal the snapshot cannot explain)
goes the full way through ``UsageService.consume``, whose rules stay the only definition
of the entitlement order: this path only ever takes the branch that order would take.
"""

import uuid
from dataclasses import dataclass

from src.clock import utc_now
from src.errors import NotFound, PaymentRequired
from src.events.token_results import UsageCharge
from src.models.token_usage import UsageSource
from src.repositories.usage_charge_repository import ChargeRequest, OneStatementCharge
from src.services.ports import UsageChargeRepositoryPort
from src.services.usage_service import LEDGER_DESCRIPTION_LENGTH


@dataclass(frozen=True)
class FastConsume:
    """``charge`` is None when the use needs the full path. ``reload_threshold``: the armed
    threshold the full path or the reload needs (None: off, or no reload can be due)."""

    charge: UsageCharge | None
    reload_threshold: int | None


class UsageFastPath:
    def __init__(self, charges: UsageChargeRepositoryPort) -> None:
        self._charges = charges

    def try_charge(
        self,
        user_id: uuid.UUID,
        amount: int,
        reference: str,
        description: str | None,
        api_key_id: uuid.UUID | None,
    ) -> FastConsume:
        """Charge ``amount`` tokens in one statement, or say that the full path must decide.

        402 ``insufficient_tokens`` (nothing written) when tokens are the source and what is
        available is short, with the same details as the full path; 404 ``user_not_found``
        when the account is gone (the user's own route answers that as a 401).
        """
        request = ChargeRequest(
            usage_id=uuid.uuid4(),
            entry_id=uuid.uuid4(),
            user_id=user_id,
            amount=amount,
            reference=reference,
            description=description,
            ledger_description=(description or f"Use {reference}")[:LEDGER_DESCRIPTION_LENGTH],
            api_key_id=api_key_id,
            now=utc_now(),
        )
        result = self._charges.charge_alone(request)
        if not result.charged and _only_the_alone_guard_or_a_race(result, amount):
            # It wrote nothing; in the transaction the reload job can join the use.
            result = self._charges.charge_in_transaction(request)
        if result.balance is not None:
            charge = UsageCharge(
                usage_id=request.usage_id,
                balance=result.balance,
                source=UsageSource.TOKENS,
                charged_tokens=amount,
            )
            return FastConsume(charge, result.reload_threshold)
        if result.trial_remaining is None:
            raise NotFound("user")  # the account is gone: nothing was written
        if _needs_full_path(result, amount):
            return FastConsume(None, result.reload_threshold)
        raise PaymentRequired(
            "Not enough tokens.",
            code="insufficient_tokens",
            details={"balance": result.snapshot_balance or 0, "required": amount},
        )


def _only_the_alone_guard_or_a_race(result: OneStatementCharge, amount: int) -> bool:
    """Tokens are the source and the snapshot shows enough: what stopped the form that
    commits alone was the auto-reload threshold, or a concurrent change of the row."""
    if result.reference_seen or result.covered_by_subscription:
        return False
    if result.trial_remaining is None or result.trial_remaining > 0:
        return False
    return _available(result) >= amount


def _available(result: OneStatementCharge) -> int:
    return (result.snapshot_balance or 0) - (result.snapshot_held or 0)


def _needs_full_path(result: OneStatementCharge, amount: int) -> bool:
    """Whether something other than a short balance stopped the debit.

    The last case: the snapshot shows enough, yet the row (re-read under its lock, after a
    concurrent change) did not; the full path re-reads and decides with fresh data.
    """
    if result.reference_seen or result.covered_by_subscription:
        return True
    if result.trial_remaining is not None and result.trial_remaining > 0:
        return True
    return _available(result) >= amount
