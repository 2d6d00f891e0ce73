"""Idempotency-Key on checkout: a retry replays the first answer; another request is 422."""

import uuid

import pytest

from src.errors import Unprocessable
from src.events.checkout_results import restored
from src.schemas.checkout import CheckoutResponse
from tests.unit.builders import Billing

USER = uuid.UUID("00000000-0000-4000-8000-000000000001")


def test_same_key_and_request_replays_without_writing(billing: Billing) -> None:
    plan, bundle = billing.plan(), billing.bundle()
    request = {"plan_id": plan.id, "token_bundle_ids": (bundle.id,), "idempotency_key": "k-1"}
    first = billing.checkout(USER, **request)
    counts = billing.row_counts()

    again = billing.checkout(USER, **request)

    assert first.data.replayed is False
    assert again.data.replayed is True
    assert again.data.result == first.data.result
    assert again.notifications == ()
    assert billing.row_counts() == counts
    assert billing.invoices.sequence == 1
    stored = billing.keys.rows[(USER, "k-1")]
    assert stored.response_status == 201
    assert stored.response_body is not None
    first_json = CheckoutResponse.from_result(first.data.result).model_dump(mode="json")
    assert (
        CheckoutResponse.from_result(restored(stored.response_body)).model_dump(mode="json")
        == first_json
    )


def test_a_key_stored_as_the_rendered_response_still_replays_it(billing: Billing) -> None:
    """Keys written before results were stored hold the response JSON itself."""
    plan, bundle = billing.plan(), billing.bundle()
    request = {"plan_id": plan.id, "token_bundle_ids": (bundle.id,), "idempotency_key": "k-1"}
    first = billing.checkout(USER, **request)
    first_json = CheckoutResponse.from_result(first.data.result).model_dump(mode="json")
    billing.keys.rows[(USER, "k-1")].response_body = first_json

    again = billing.checkout(USER, **request)

    assert again.data.replayed is True
    assert CheckoutResponse.from_result(again.data.result).model_dump(mode="json") == first_json


def test_same_key_with_another_request_is_idempotency_key_reused(billing: Billing) -> None:
    plan, bundle = billing.plan(), billing.bundle()
    billing.checkout(USER, plan_id=plan.id, idempotency_key="k-1")
    counts = billing.row_counts()

    with pytest.raises(Unprocessable) as caught:
        billing.checkout(USER, token_bundle_ids=(bundle.id,), idempotency_key="k-1")

    assert caught.value.code == "idempotency_key_reused"
    assert caught.value.status_code == 422
    assert billing.row_counts() == counts


def test_other_key_does_the_work_again(billing: Billing) -> None:
    bundle = billing.bundle()
    billing.checkout(USER, token_bundle_ids=(bundle.id,), idempotency_key="k-1")

    second = billing.checkout(USER, token_bundle_ids=(bundle.id,), idempotency_key="k-2")

    assert second.data.replayed is False
    assert second.data.result.invoice.number == "INV-000002"
    assert len(billing.invoices.rows) == 2
