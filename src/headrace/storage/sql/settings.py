"""Workspace settings in the SQL store: one row per key, the value as JSON."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, insert, select, update

from headrace import clock
from headrace.storage.sql import tables as t
from headrace.storage.sql.session import SqlSession, translated

__all__ = ["SettingMethods"]

_settings = t.workspace_settings
_GET = select(_settings.c.value).where(_settings.c.key == bindparam("key"))


class SettingMethods(SqlSession):
    """The workspace setting methods of ``SqlMetadataStore``."""

    @translated
    def get_setting(self, key: str) -> Any:
        with self._read() as conn:
            row = conn.execute(_GET, {"key": key}).first()
        return None if row is None else row[0]

    @translated
    def set_setting(self, key: str, value: Any) -> None:
        now = clock.now()
        with self._write() as conn:
            changed = conn.execute(update(_settings).where(_settings.c.key == key)
                                   .values(value=value, updated_at=now)).rowcount
            if not changed:
                conn.execute(insert(_settings).values(key=key, value=value, updated_at=now))
