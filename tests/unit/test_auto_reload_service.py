"""AutoReloadService over FakeAutoReloadRepository: settings, the trigger and the bookkeeping."""

import uuid

import pytest

from src.clock import utc_now
from src.errors import NotFound, ValidationFailed
from src.models.auto_reload import MAX_CONSECUTIVE_FAILURES, AutoReloadSetting
from tests.unit.builders import PAYER, Billing
from tests.unit.fakes import CheckViolation


def failed_out(billing: Billing) -> AutoReloadSetting:
    """PAYER's setting after as many failures in a row as turn it off."""
    setting = billing.auto_reload(PAYER)
    for _ in range(MAX_CONSECUTIVE_FAILURES):
        billing.auto_reload_service().record_failure(setting, "declined", utc_now())
    assert not setting.enabled
    return setting


def test_configure_creates_the_users_setting(billing: Billing) -> None:
    bundle = billing.bundle()

    setting = billing.auto_reload_service().configure(PAYER, True, 15, bundle.id)

    assert billing.auto_reloads.rows == {PAYER: setting}
    assert (setting.enabled, setting.threshold, setting.bundle_id, setting.failure_count) == (
        True,
        15,
        bundle.id,
        0,
    )


def test_configure_updates_the_existing_setting_locked(billing: Billing) -> None:
    setting = billing.auto_reload(PAYER, threshold=10)
    other = billing.bundle(500, "80.00")

    updated = billing.auto_reload_service().configure(PAYER, False, 40, other.id)

    assert updated is setting and len(billing.auto_reloads.rows) == 1
    assert (setting.enabled, setting.threshold, setting.bundle_id) == (False, 40, other.id)
    assert billing.auto_reloads.locked == [PAYER]


def test_re_enabling_clears_the_failure_count_and_the_reason(billing: Billing) -> None:
    setting = failed_out(billing)

    billing.auto_reload_service().configure(PAYER, True, setting.threshold, setting.bundle_id)

    assert (setting.enabled, setting.failure_count, setting.disabled_reason) == (True, 0, None)


def test_saving_a_disabled_setting_keeps_the_failure_record(billing: Billing) -> None:
    setting = failed_out(billing)
    reason = setting.disabled_reason

    billing.auto_reload_service().configure(PAYER, False, 20, setting.bundle_id)

    assert (setting.enabled, setting.failure_count, setting.disabled_reason) == (
        False,
        MAX_CONSECUTIVE_FAILURES,
        reason,
    )


def test_configure_refuses_an_inactive_bundle(billing: Billing) -> None:
    bundle = billing.bundle(active=False)

    with pytest.raises(ValidationFailed) as caught:
        billing.auto_reload_service().configure(PAYER, True, 10, bundle.id)

    assert caught.value.code == "token_bundle_inactive"
    assert billing.auto_reloads.rows == {}


def test_configure_refuses_an_unknown_bundle(billing: Billing) -> None:
    with pytest.raises(NotFound) as caught:
        billing.auto_reload_service().configure(PAYER, True, 10, uuid.uuid4())

    assert caught.value.code == "token_bundle_not_found"


@pytest.mark.parametrize(("enabled", "threshold"), [(True, 10), (False, None)])
def test_the_reload_threshold_counts_only_while_enabled(
    billing: Billing, enabled: bool, threshold: int | None
) -> None:
    billing.auto_reload(PAYER, threshold=10, enabled=enabled)

    assert billing.auto_reload_service().threshold(PAYER) == threshold


def test_no_setting_has_no_threshold(billing: Billing) -> None:
    assert billing.auto_reload_service().threshold(PAYER) is None


def test_failures_below_the_limit_are_counted_but_keep_it_on(billing: Billing) -> None:
    setting = billing.auto_reload(PAYER)
    now = utc_now()

    for _ in range(MAX_CONSECUTIVE_FAILURES - 1):
        billing.auto_reload_service().record_failure(setting, "declined", now)

    assert (setting.enabled, setting.failure_count, setting.disabled_reason) == (
        True,
        MAX_CONSECUTIVE_FAILURES - 1,
        None,
    )
    assert setting.last_failure_at == now == setting.last_attempt_at


def test_the_disabled_reason_fits_its_column(billing: Billing) -> None:
    setting = billing.auto_reload(PAYER, failures=MAX_CONSECUTIVE_FAILURES - 1)

    billing.auto_reload_service().record_failure(setting, "x" * 1000, utc_now())

    assert setting.disabled_reason is not None and len(setting.disabled_reason) == 500


def test_fake_refuses_a_threshold_out_of_range_like_the_check(billing: Billing) -> None:
    with pytest.raises(CheckViolation):
        billing.auto_reload(PAYER, threshold=101)
