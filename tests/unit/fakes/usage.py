"""Pay-per-use: token usages, API keys and auto-reload settings."""

import uuid
from datetime import datetime, timedelta

from src.models.api_key import ApiKey
from src.models.auto_reload import AutoReloadSetting
from src.models.token_usage import TokenUsage, UsageStatus
from src.repositories.base import DuplicateRow
from tests.unit.fakes.rows import CheckViolation, apply_defaults


class FakeUsageRepository:
    """``try_claim`` is the savepoint INSERT: ``False`` when (user_id, reference) is taken, as
    the unique constraint would answer; the row is kept otherwise (no rollback here)."""

    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, TokenUsage] = {}
        self.claims: list[tuple[uuid.UUID, str]] = []  # every claim attempted, in order
        self.locked: list[uuid.UUID] = []  # ids read with for_update, in order

    def get(self, usage_id: uuid.UUID, *, for_update: bool = False) -> TokenUsage | None:
        usage = self.rows.get(usage_id)
        if usage is not None and for_update:
            self.locked.append(usage_id)
        return usage

    def find(self, user_id: uuid.UUID, reference: str) -> TokenUsage | None:
        return self._claimed(user_id, reference)

    def try_claim(self, usage: TokenUsage) -> bool:
        self.claims.append((usage.user_id, usage.reference))
        if usage.requested_amount <= 0:
            raise CheckViolation(f"requested_amount={usage.requested_amount}")
        if self._claimed(usage.user_id, usage.reference) is not None:
            return False
        apply_defaults(usage, charged_tokens=0, balance_after=0, status=UsageStatus.CHARGED)
        self.rows[usage.id] = usage
        return True

    def violations(self) -> list[str]:
        """The rows a flush would refuse now (the table's CHECK constraints)."""
        return [
            f"usage {row.id}: charged={row.charged_tokens} balance_after={row.balance_after}"
            for row in self.rows.values()
            if row.charged_tokens < 0 or row.balance_after < 0
        ]

    def _claimed(self, user_id: uuid.UUID, reference: str) -> TokenUsage | None:
        # Private, so a test subclass that hides rows from ``find`` still meets the constraint.
        return next(
            (
                row
                for row in self.rows.values()
                if (row.user_id, row.reference) == (user_id, reference)
            ),
            None,
        )


class FakeApiKeyRepository:
    """Like the unique prefix and the unique digest."""

    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, ApiKey] = {}
        self.writes = 0  # last_used_at writes

    def add(self, key: ApiKey) -> ApiKey:
        for row in self.rows.values():
            if row.prefix == key.prefix:
                raise DuplicateRow("uq_api_keys_prefix")
            if row.key_digest == key.key_digest:
                raise DuplicateRow("uq_api_keys_key_digest")
        apply_defaults(key)
        self.rows[key.id] = key
        return key

    def find_by_prefix(self, prefix: str) -> ApiKey | None:
        return next((row for row in self.rows.values() if row.prefix == prefix), None)

    def list_all(self) -> list[ApiKey]:
        return sorted(self.rows.values(), key=lambda row: row.created_at)

    def get(self, key_id: uuid.UUID) -> ApiKey | None:
        return self.rows.get(key_id)

    def touch(self, key_id: uuid.UUID, now: datetime) -> bool:
        """The conditional UPDATE: writes only when the last recorded use is a minute old."""
        key = self.rows[key_id]
        if key.last_used_at is not None and key.last_used_at >= now - timedelta(minutes=1):
            return False
        key.last_used_at = now
        self.writes += 1
        return True


class FakeAutoReloadRepository:
    """One row per user (the primary key), with CHECK threshold 1..100 and failure_count >= 0."""

    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, AutoReloadSetting] = {}
        self.locked: list[uuid.UUID] = []  # users whose row was read with for_update, in order

    def get(self, user_id: uuid.UUID, *, for_update: bool = False) -> AutoReloadSetting | None:
        setting = self.rows.get(user_id)
        if setting is not None and for_update:
            self.locked.append(user_id)
        return setting

    def add(self, setting: AutoReloadSetting) -> AutoReloadSetting:
        if setting.user_id in self.rows:
            raise DuplicateRow("pk_auto_reload_settings")
        apply_defaults(setting, enabled=False, failure_count=0)
        if not 1 <= setting.threshold <= 100 or setting.failure_count < 0:
            raise CheckViolation(f"threshold={setting.threshold}, failures={setting.failure_count}")
        self.rows[setting.user_id] = setting
        return setting

    def violations(self) -> list[str]:
        """The rows a flush would refuse now."""
        return [
            f"auto-reload of {row.user_id}: threshold={row.threshold} failures={row.failure_count}"
            for row in self.rows.values()
            if not 1 <= row.threshold <= 100 or row.failure_count < 0
        ]
