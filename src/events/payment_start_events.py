"""Starting a payment as a provider intent (src/intents/payment_start.py runs these commands
around the provider calls, with no transaction open during a call): plan under the invoice's
lock, record the customer, record what the provider started, record a cancellation.

The plan is plain data, never an ORM row: the process reads it after the commit, with no
session work left to do before it calls the provider.
"""

import uuid
from dataclasses import dataclass
from enum import StrEnum

from src.events.base import Command
from src.models.payment import PaymentStatus
from src.providers.base import ExistingPayment, PaymentStart, StartedPayment


class StartAction(StrEnum):
    """What the process does next, decided by command 1 under the invoice's lock."""

    # No customer is known at the provider yet: create it (nothing was committed).
    CUSTOMER = "customer"
    # This request holds the start lease of a payment without provider ids: create it at the
    # provider (a payment committed earlier is looked for there first).
    START = "start"
    # The open payment has provider ids, in the mode asked for: hand it back.
    RESUME = "resume"
    # The open payment has provider ids, in another mode: stop it at the provider first.
    REPLACE = "replace"
    # The open payment has no provider ids, in another mode, and nobody holds its lease:
    # find it at the provider (or learn it was never started) before replacing it.
    LOOK_UP = "look_up"
    # Another request holds the start lease: wait for its outcome, never call start twice.
    WAIT = "wait"


@dataclass(frozen=True)
class PaymentToStop:
    """An open payment to cancel at its provider before anything replaces or cancels it."""

    payment_id: uuid.UUID
    provider: str
    existing: ExistingPayment


@dataclass(frozen=True)
class PaymentStartPlan:
    """Command 1's decision. ``start`` is what the provider would be asked to create (the
    payment id is the idempotency key); ``created``: this command committed the payment."""

    action: StartAction
    user_id: uuid.UUID
    email: str
    provider: str
    payment_id: uuid.UUID | None = None
    status: PaymentStatus | None = None
    existing: ExistingPayment | None = None
    start: PaymentStart | None = None
    created: bool = False


@dataclass(frozen=True)
class PaymentStartRecord:
    """Where the payment stands after its provider ids were recorded."""

    payment_id: uuid.UUID
    status: PaymentStatus


@dataclass(frozen=True)
class UnstartedPayment:
    """A payment committed without provider ids, leased to the caller to look it up."""

    payment_id: uuid.UUID
    provider: str
    existing: ExistingPayment


@dataclass(frozen=True, kw_only=True)
class PaymentCustomerRecordedEvent(Command[str]):
    """Command: the provider's customer for ``user_id``; the first one recorded is kept (two
    racing requests may each have created one) and answered."""

    name = "payment.customer_recorded"
    user_id: uuid.UUID
    provider: str
    customer_id: str


@dataclass(frozen=True, kw_only=True)
class PaymentStartReportedEvent(Command[PaymentStartRecord]):
    """Command: what the provider started for ``payment_id`` (its ids are recorded, the first
    ones kept), or ``started`` None: the call failed and the start lease is released."""

    name = "payment.start_reported"
    payment_id: uuid.UUID
    started: StartedPayment | None


@dataclass(frozen=True, kw_only=True)
class PaymentCancellationRecordedEvent(Command[PaymentStatus]):
    """Command: ``payment_id`` was cancelled at its provider; it becomes CANCELLED if it is
    still open (answers the status it has then)."""

    name = "payment.cancellation_recorded"
    payment_id: uuid.UUID
    reason: str


@dataclass(frozen=True, kw_only=True)
class PaymentStartLeaseRequestedEvent(Command[UnstartedPayment | None]):
    """Command (the janitor's): lease ``payment_id`` to look it up at its provider, if it is
    still open without provider ids and nobody holds its lease; None otherwise."""

    name = "payment.start_lease_requested"
    payment_id: uuid.UUID
