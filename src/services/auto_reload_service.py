"""Auto-reload settings and their bookkeeping (the reload itself: src/intents/auto_reload.py)."""

import uuid
from datetime import datetime

from src.errors import NotFound
from src.events.token_results import AutoReloadSettings
from src.models.auto_reload import MAX_CONSECUTIVE_FAILURES, AutoReloadSetting
from src.services.ports import AutoReloadRepositoryPort
from src.services.token_bundle_service import TokenBundleService


class AutoReloadService:
    def __init__(
        self, reloads: AutoReloadRepositoryPort, token_bundle_service: TokenBundleService
    ) -> None:
        self._reloads = reloads
        self._bundles = token_bundle_service

    def settings(self, user_id: uuid.UUID) -> AutoReloadSettings:
        """404 until the user has configured auto-reload once (off is still configured)."""
        setting = self._reloads.get(user_id)
        if setting is None:
            raise NotFound("auto_reload", "Auto-reload is not configured.")
        return AutoReloadSettings.of(setting)

    def find(self, user_id: uuid.UUID) -> AutoReloadSetting | None:
        return self._reloads.get(user_id)

    def lock(self, user_id: uuid.UUID) -> AutoReloadSetting | None:
        return self._reloads.get(user_id, for_update=True)

    def configure(
        self, user_id: uuid.UUID, enabled: bool, threshold: int, bundle_id: uuid.UUID
    ) -> AutoReloadSetting:
        """Save the settings; (re-)enabling clears the failure count and the reason."""
        self._bundles.get_active(bundle_id)
        setting = self._reloads.get(user_id, for_update=True)
        if setting is None:
            setting = self._reloads.add(
                AutoReloadSetting(
                    user_id=user_id,
                    enabled=False,
                    threshold=threshold,
                    bundle_id=bundle_id,
                    failure_count=0,
                )
            )
        if enabled:
            setting.failure_count = 0
            setting.disabled_reason = None
        setting.enabled = enabled
        setting.threshold = threshold
        setting.bundle_id = bundle_id
        return setting

    def threshold(self, user_id: uuid.UUID) -> int | None:
        """The balance under which a reload starts, or None when auto-reload is off."""
        setting = self._reloads.get(user_id)
        return setting.threshold if setting is not None and setting.enabled else None

    @staticmethod
    def record_attempt(setting: AutoReloadSetting, invoice_id: uuid.UUID, now: datetime) -> None:
        setting.in_flight_invoice_id = invoice_id
        setting.last_attempt_at = now

    @staticmethod
    def record_success(setting: AutoReloadSetting) -> None:
        setting.failure_count = 0

    @staticmethod
    def record_failure(setting: AutoReloadSetting, reason: str, now: datetime) -> None:
        """Count a failed reload; the third in a row switches auto-reload off, saying why."""
        setting.failure_count += 1
        setting.last_failure_at = now
        setting.last_attempt_at = now
        if setting.failure_count >= MAX_CONSECUTIVE_FAILURES:
            setting.enabled = False
            setting.disabled_reason = (
                f"Turned off after {setting.failure_count} failed reloads in a row; "
                f"last: {reason}"
            )[:500]
