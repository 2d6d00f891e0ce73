"""Auto-reload settings, one row per user."""

import uuid

from sqlalchemy import select

from src.models.auto_reload import AutoReloadSetting
from src.repositories.base import SessionProxy


class AutoReloadRepository:
    def __init__(self, session: SessionProxy) -> None:
        self._session = session

    def get(self, user_id: uuid.UUID, *, for_update: bool = False) -> AutoReloadSetting | None:
        if not for_update:
            return self._session.get(AutoReloadSetting, user_id)
        query = (
            select(AutoReloadSetting)
            .where(AutoReloadSetting.user_id == user_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return self._session.scalar(query)

    def add(self, setting: AutoReloadSetting) -> AutoReloadSetting:
        self._session.add(setting)
        self._session.flush()
        return setting
