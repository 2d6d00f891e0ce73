"""Auto-reload as a provider intent, in three commands around one provider call (no
transaction open during the call): plan it, commit the intent, record what the provider said."""

import uuid
from dataclasses import dataclass

from src.events.base import Command
from src.events.token_results import AutoReloadAttempt
from src.providers.base import ExistingPayment, PaymentStart, RemotePayment


@dataclass(frozen=True)
class AutoReloadPlan:
    """Whether a reload is due (``skip_reason`` None) and whose card it would charge."""

    skip_reason: str | None
    provider: str
    customer_id: str | None = None


@dataclass(frozen=True)
class AutoReloadIntent:
    """The committed intent: the payment to start (or, when a retry finds one that was
    committed before, to look for at the provider first); ``attempt`` when nothing is to call."""

    attempt: AutoReloadAttempt | None
    start: PaymentStart | None = None
    existing: ExistingPayment | None = None
    resumed: bool = False


@dataclass(frozen=True, kw_only=True)
class AutoReloadPlanRequestedEvent(Command[AutoReloadPlan]):
    """Command (reads only): is a reload due for ``user_id``, and with which customer?"""

    name = "auto_reload.plan_requested"
    user_id: uuid.UUID


@dataclass(frozen=True, kw_only=True)
class AutoReloadIntentRequestedEvent(Command[AutoReloadIntent]):
    """Command: commit the reload's invoice and pending payment (the intent), or find the one
    a previous run committed; ``card`` is the saved payment method the provider named."""

    name = "auto_reload.intent_requested"
    user_id: uuid.UUID
    card: str | None


@dataclass(frozen=True, kw_only=True)
class AutoReloadOutcomeReportedEvent(Command[AutoReloadAttempt]):
    """Command: what the provider answered for the reload's payment ``payment_id``; a
    ``declined`` message when it refused the card at once."""

    name = "auto_reload.outcome_reported"
    payment_id: uuid.UUID
    remote: RemotePayment | None
    payment_intent_id: str | None = None
    declined: str | None = None
    decline_code: str | None = None
