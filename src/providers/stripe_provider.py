"""Stripe through the official SDK's ``StripeClient`` (injected; ``STRIPE_API_BASE`` may point
it at localstripe). Amounts travel in minor units; our ids travel in metadata."""

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar, cast

import stripe
from stripe.params import PaymentIntentCreateParams, SetupIntentCreateParams
from stripe.params.checkout import SessionCreateParams

from src.config import Settings
from src.errors import ApiError, InvalidState, ProviderError, ServiceUnavailable
from src.money import from_minor_units, to_minor_units
from src.providers.base import (
    ExistingPayment,
    ObservedRefund,
    PaymentMode,
    PaymentProvider,
    PaymentStart,
    ProviderDeclined,
    ProviderEvent,
    ProviderRefund,
    ProviderRefused,
    RefundList,
    RemotePayment,
    RemoteStatus,
    StartedPayment,
)
from src.providers.stripe_events import amount_of, id_of, translate_event, uuid_of

logger = logging.getLogger(__name__)
T = TypeVar("T")

SIGNATURE_HEADER = "Stripe-Signature"
OPEN_INTENT_STATUSES = {"requires_payment_method", "requires_confirmation", "requires_action"}


class InvalidStripeSignature(ApiError):
    status_code = 400
    code = "invalid_signature"


def build_stripe_client(settings: Settings) -> stripe.StripeClient | None:
    """One shared, stateless client; None when STRIPE_SECRET_KEY is not configured.

    Its timeout and retries are bounded by settings that are checked against the HTTP
    worker's timeout, so a slow Stripe answer never gets a worker killed mid-call.
    """
    if settings.STRIPE_SECRET_KEY is None or not settings.STRIPE_SECRET_KEY.get_secret_value():
        return None
    http_client = stripe.new_default_http_client(timeout=settings.STRIPE_TIMEOUT_SECONDS)
    if settings.STRIPE_API_BASE:
        # A fake server: SDK retries on its 409/500 answers only slow the tests down.
        return stripe.StripeClient(
            settings.STRIPE_SECRET_KEY.get_secret_value(),
            base_addresses={"api": settings.STRIPE_API_BASE},
            max_network_retries=0,
            http_client=http_client,
        )
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY.get_secret_value(),
        max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
        http_client=http_client,
    )


class StripeProvider(PaymentProvider):
    name = "stripe"

    def __init__(
        self,
        client: stripe.StripeClient | None,
        webhook_secret: str | None,
        success_url: str,
        cancel_url: str,
    ) -> None:
        self._client = client
        self._webhook_secret = webhook_secret
        self._success_url = success_url
        self._cancel_url = cancel_url

    # -- starting and resuming -------------------------------------------------------------

    def ensure_customer(self, user_id: uuid.UUID, email: str, known_id: str | None) -> str | None:
        if known_id:
            return known_id
        client = self._require_client()
        customer = self._call(
            lambda: client.v1.customers.create(
                params={"email": email, "metadata": {"user_id": str(user_id)}},
                options={"idempotency_key": f"customer-{user_id}"},
            )
        )
        return str(customer.id)

    def start_payment(self, start: PaymentStart) -> StartedPayment:
        if start.mode is PaymentMode.CHECKOUT:
            return self._start_checkout_session(start)
        client = self._require_client()
        params: dict[str, Any] = {
            "amount": to_minor_units(start.amount),
            "currency": start.currency.lower(),
            "metadata": self._metadata(start),
        }
        if start.customer_id:
            params["customer"] = start.customer_id
        if start.saved_payment_method:
            params.update(payment_method=start.saved_payment_method, off_session=True, confirm=True)
        intent = self._call(
            lambda: client.v1.payment_intents.create(
                params=cast(PaymentIntentCreateParams, params),
                options={"idempotency_key": f"payment-{start.payment_id}"},
            )
        )
        return StartedPayment(
            provider_payment_id=str(intent.id),
            payment_intent_id=str(intent.id),
            client_secret=intent.client_secret,
            remote=self._remote_state(intent) if start.saved_payment_method else None,
        )

    def _start_checkout_session(self, start: PaymentStart) -> StartedPayment:
        client = self._require_client()
        metadata = self._metadata(start)
        params: dict[str, Any] = {
            "mode": "payment",
            "client_reference_id": str(start.invoice_id),
            "line_items": [
                {
                    "quantity": line.quantity,
                    "price_data": {
                        "currency": start.currency.lower(),
                        "unit_amount": to_minor_units(line.unit_price),
                        "product_data": {"name": line.description},
                    },
                }
                for line in start.lines
            ],
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "success_url": self._success_url,
            "cancel_url": self._cancel_url,
        }
        if start.customer_id:
            params["customer"] = start.customer_id
        session = self._call(
            lambda: client.v1.checkout.sessions.create(
                params=cast(SessionCreateParams, params),
                options={"idempotency_key": f"payment-{start.payment_id}"},
            )
        )
        return StartedPayment(
            provider_payment_id=str(session.id),
            session_id=str(session.id),
            checkout_url=session.url,
        )

    def resume_payment(self, existing: ExistingPayment) -> StartedPayment | None:
        """The open payment handed back; None when the customer can no longer act on it
        (gone, or paid / being paid: ``cancel_payment`` then refuses with 409)."""
        client = self._require_client()
        if existing.payment_intent_id:
            intent = self._call(
                lambda: client.v1.payment_intents.retrieve(str(existing.payment_intent_id))
            )
            if intent.status not in OPEN_INTENT_STATUSES:
                return None
            return StartedPayment(
                provider_payment_id=str(intent.id),
                payment_intent_id=str(intent.id),
                client_secret=intent.client_secret,
            )
        if existing.session_id:
            session = self._call(
                lambda: client.v1.checkout.sessions.retrieve(str(existing.session_id))
            )
            if session.status != "open":
                return None
            return StartedPayment(
                provider_payment_id=str(session.id),
                session_id=str(session.id),
                checkout_url=session.url,
            )
        return None

    def saved_payment_method(self, customer_id: str | None) -> str | None:
        """The customer's default card, else the first card attached to the customer."""
        if not customer_id:
            return None
        client = self._require_client()
        customer = self._call(lambda: client.v1.customers.retrieve(customer_id))
        settings = customer["invoice_settings"] if "invoice_settings" in customer else None
        default = settings["default_payment_method"] if settings else None
        if default:
            return id_of(default)
        cards = self._call(
            lambda: client.v1.payment_methods.list(params={"customer": customer_id, "type": "card"})
        )
        return str(cards.data[0].id) if cards.data else None

    def start_saving_method(self, customer_id: str | None) -> str:
        client = self._require_client()
        params: dict[str, Any] = {"usage": "off_session"}
        if customer_id:
            params["customer"] = customer_id
        intent = self._call(
            lambda: client.v1.setup_intents.create(params=cast(SetupIntentCreateParams, params))
        )
        return str(intent.client_secret)

    def cancel_payment(self, existing: ExistingPayment) -> None:
        """Stop an open payment; refuse (409 ``payment_in_progress``) when Stripe is already
        moving or has moved the money (an intent past confirmation, a ``complete`` Checkout
        Session), since then it can only complete, never be replaced."""
        client = self._require_client()
        if existing.payment_intent_id:
            intent = self._call(
                lambda: client.v1.payment_intents.retrieve(str(existing.payment_intent_id))
            )
            if intent.status in OPEN_INTENT_STATUSES:
                self._call(lambda: client.v1.payment_intents.cancel(str(intent.id)))
            elif intent.status != "canceled":
                raise InvalidState(
                    "This payment is already being processed by Stripe; wait for its outcome.",
                    code="payment_in_progress",
                )
        elif existing.session_id:
            session = self._call(
                lambda: client.v1.checkout.sessions.retrieve(str(existing.session_id))
            )
            if session.status == "open":
                self._call(lambda: client.v1.checkout.sessions.expire(str(session.id)))
            elif session.status != "expired":
                # ``complete``: paid, or an asynchronous method is still moving the money.
                raise InvalidState(
                    "This checkout is already paid or being paid; wait for its outcome.",
                    code="payment_in_progress",
                )

    # -- webhooks ----------------------------------------------------------------------------

    def parse_webhook(self, payload: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        if not self._webhook_secret:
            raise ServiceUnavailable(
                "Stripe webhooks are not configured on the server.", code="webhook_not_configured"
            )
        try:
            stripe.Webhook.construct_event(
                payload.decode("utf-8"), headers.get(SIGNATURE_HEADER, ""), self._webhook_secret
            )
        except (stripe.SignatureVerificationError, ValueError) as error:
            logger.warning("stripe webhook refused: %s", type(error).__name__)
            raise InvalidStripeSignature(
                "The Stripe-Signature header does not verify this payload."
            ) from error
        event = json.loads(payload)
        return self._translate(event)

    def _translate(self, event: dict[str, Any]) -> ProviderEvent:
        return translate_event(event, self.name)

    # -- recovery and refunds ----------------------------------------------------------------

    def fetch_payment(self, existing: ExistingPayment) -> RemotePayment:
        client = self._require_client()
        intent_id = existing.payment_intent_id
        if intent_id is None and existing.session_id:
            session = self._call(
                lambda: client.v1.checkout.sessions.retrieve(str(existing.session_id))
            )
            intent_id = id_of(session.payment_intent) if "payment_intent" in session else None
            if intent_id is None:
                expired = session.status == "expired"
                return RemotePayment(RemoteStatus.CANCELLED if expired else RemoteStatus.PENDING)
        if intent_id is None:
            found = self._find_intent(client, existing.payment_id)
            if found is None:
                return RemotePayment(RemoteStatus.NOT_FOUND)
            return self._remote_state(found)
        intent = self._call(lambda: client.v1.payment_intents.retrieve(str(intent_id)))
        return self._remote_state(intent)

    def _find_intent(self, client: stripe.StripeClient, payment_id: uuid.UUID) -> Any | None:
        """The PaymentIntent created for our payment, found by its metadata: Stripe's search,
        or (where search is missing, as in localstripe) a scan of the latest intents. Stripe
        forgets idempotency keys after 24 hours, so this, not the key, prevents a second one."""
        query = f"metadata['payment_id']:'{payment_id}'"
        try:
            found = client.v1.payment_intents.search(params={"query": query, "limit": 1})
            return found.data[0] if found.data else None
        except stripe.InvalidRequestError as error:
            if error.http_status != 404:
                raise ProviderError("The payment provider refused the lookup.") from error
        latest = self._call(lambda: client.v1.payment_intents.list(params={"limit": 100}))
        wanted = str(payment_id)
        for intent in latest.auto_paging_iter():
            metadata = intent["metadata"] if "metadata" in intent else None
            if metadata is not None and "payment_id" in metadata:
                if metadata["payment_id"] == wanted:
                    return intent
        return None

    @staticmethod
    def _remote_state(intent: Any) -> RemotePayment:
        status = intent.status
        if status == "succeeded":
            received = intent["amount_received"] if "amount_received" in intent else None
            return RemotePayment(
                RemoteStatus.SUCCEEDED,
                amount=amount_of(received or intent.amount),
                currency=str(intent.currency).upper(),
                payment_intent_id=str(intent.id),
                charge_id=id_of(intent["latest_charge"] if "latest_charge" in intent else None),
            )
        if status == "processing":
            return RemotePayment(RemoteStatus.PROCESSING, payment_intent_id=str(intent.id))
        if status == "canceled":
            return RemotePayment(RemoteStatus.CANCELLED, payment_intent_id=str(intent.id))
        error = intent["last_payment_error"] if "last_payment_error" in intent else None
        if status == "requires_payment_method" and error:
            message = error["message"] if "message" in error else "The payment failed."
            return RemotePayment(
                RemoteStatus.FAILED, payment_intent_id=str(intent.id), failure_message=message
            )
        return RemotePayment(RemoteStatus.PENDING, payment_intent_id=str(intent.id))

    def refund(
        self, existing: ExistingPayment, amount: Decimal, refund_id: uuid.UUID
    ) -> ProviderRefund:
        client = self._require_client()
        if not existing.payment_intent_id:
            raise ProviderRefused("This payment has no Stripe payment intent to refund.")
        refund = self._call(
            lambda: client.v1.refunds.create(
                params={
                    "payment_intent": str(existing.payment_intent_id),
                    "amount": to_minor_units(amount),
                    "metadata": {"refund_id": str(refund_id)},
                },
                options={"idempotency_key": f"refund-{refund_id}"},
            )
        )
        return self._refund_state(refund, amount)

    def find_refund(self, existing: ExistingPayment, refund_id: uuid.UUID) -> ProviderRefund | None:
        """The payment intent's refunds, matched by the ``refund_id`` we sent as metadata
        (Stripe's list filters by payment intent; localstripe's too)."""
        if not existing.payment_intent_id:
            return None
        client = self._require_client()
        intent_id = str(existing.payment_intent_id)
        refunds = self._call(
            lambda: client.v1.refunds.list(params={"payment_intent": intent_id, "limit": 100})
        )
        wanted = str(refund_id)
        for refund in refunds.auto_paging_iter():
            metadata = refund["metadata"] if "metadata" in refund else None
            if metadata is not None and "refund_id" in metadata:
                if metadata["refund_id"] == wanted:
                    return self._refund_state(refund, None)
        return None

    def list_refunds(self, payment_intent_id: str | None, charge_id: str | None) -> RefundList:
        """The charge's (else the intent's) refunds from Stripe's API, without the failed and
        cancelled ones (they gave nothing back); ours carry ``refund_id`` in metadata."""
        client = self._require_client()
        if charge_id:
            params: dict[str, Any] = {"charge": charge_id, "limit": 100}
        elif payment_intent_id:
            params = {"payment_intent": payment_intent_id, "limit": 100}
        else:
            return RefundList(())
        listed = self._call(lambda: client.v1.refunds.list(params=cast(Any, params)))
        found = []
        for refund in listed.auto_paging_iter():
            if refund.status in ("failed", "canceled"):
                continue
            metadata = refund["metadata"] if "metadata" in refund else None
            ours = metadata["refund_id"] if metadata and "refund_id" in metadata else None
            found.append(
                ObservedRefund(
                    refund_id=str(refund.id),
                    amount=from_minor_units(int(refund.amount)),
                    intent_id=uuid_of(ours) if ours else None,
                )
            )
        return RefundList(tuple(found))

    @staticmethod
    def _refund_state(refund: Any, asked: Decimal | None) -> ProviderRefund:
        """A pending refund is on its way (Stripe reports a late failure by webhook); failed
        and cancelled ones gave nothing back."""
        amount = amount_of(refund["amount"] if "amount" in refund else None)
        failure = None
        if refund.status in ("failed", "canceled"):
            reason = refund["failure_reason"] if "failure_reason" in refund else None
            failure = f"Stripe reports the refund {refund.status}" + (
                f" ({reason})." if reason else "."
            )
        return ProviderRefund(
            refund_id=str(refund.id),
            amount=amount if amount is not None else (asked or Decimal("0.00")),
            failure_message=failure,
        )

    # -- plumbing ----------------------------------------------------------------------------

    @staticmethod
    def _metadata(start: PaymentStart) -> dict[str, str]:
        return {
            "invoice_id": str(start.invoice_id),
            "invoice_number": start.invoice_number,
            "user_id": str(start.user_id),
            "payment_id": str(start.payment_id),
        }

    def _require_client(self) -> stripe.StripeClient:
        if self._client is None:
            raise ServiceUnavailable(
                "Stripe is not configured on the server.", code="stripe_not_configured"
            )
        return self._client

    @staticmethod
    def _call(request: Callable[[], T]) -> T:
        """Run one Stripe call; a decline is 402, anything else Stripe says is a bare 502."""
        try:
            return request()
        except stripe.CardError as error:
            detail = error.error
            decline_code = detail.decline_code if detail and "decline_code" in detail else None
            raise ProviderDeclined(
                error.user_message or "The card was declined.",
                details={"decline_code": decline_code or error.code},
            ) from error
        except stripe.StripeError as error:
            logger.error("stripe call failed: %s (%s)", type(error).__name__, error.http_status)
            status = error.http_status
            # 409 (a concurrent request with the same key) and 429 may pass on a retry.
            if status is not None and 400 <= status < 500 and status not in (409, 429):
                raise ProviderRefused(
                    "The payment provider refused or failed the request."
                ) from error
            raise ProviderError("The payment provider refused or failed the request.") from error
