"""Registered environments in the SQL store."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from headrace.errors import AlreadyExistsError, NotFoundError
from headrace.storage.records import EnvironmentRecord
from headrace.storage.sql import rows
from headrace.storage.sql import tables as t
from headrace.storage.sql.session import SqlSession, translated

__all__ = ["EnvironmentMethods"]

_envs = t.environments
_INSERT = insert(_envs)
_BY_NAME = select(_envs).where(_envs.c.name == bindparam("name")).order_by(_envs.c.version.desc())
_VERSION = select(_envs).where(_envs.c.name == bindparam("name"), _envs.c.version == bindparam("version"))
_ALL = select(_envs).order_by(_envs.c.name, _envs.c.version.desc())


def _record(row: Mapping[str, Any]) -> EnvironmentRecord:
    values = dict(row)
    values["spec"] = values.get("spec") or {}
    return EnvironmentRecord(**values)


class EnvironmentMethods(SqlSession):
    """The environment methods of ``SqlMetadataStore``."""

    @translated
    def create_environment(self, record: EnvironmentRecord) -> EnvironmentRecord:
        try:
            with self._write() as conn:
                conn.execute(_INSERT, rows.as_row(record))
        except IntegrityError as exc:
            raise AlreadyExistsError("environment", f"{record.name}:{record.version}",
                                     "register again to get the next version") from exc
        return rows.in_utc(record)

    @translated
    def get_environment(self, name: str, version: int | None = None) -> EnvironmentRecord:
        with self._read() as conn:
            if version is None:
                row = conn.execute(_BY_NAME.limit(1), {"name": name}).mappings().first()
            elif int(version) in rows.INTEGER_RANGE:  # a larger number names no row (see rows.INTEGER_RANGE)
                row = conn.execute(_VERSION, {"name": name, "version": int(version)}).mappings().first()
            else:
                row = None
        if row is None:
            raise NotFoundError("environment", name if version is None else f"{name}:{version}")
        return _record(row)

    @translated
    def list_environments(self, name: str | None = None) -> list[EnvironmentRecord]:
        with self._read() as conn:
            found = conn.execute(_ALL if name is None else _BY_NAME, {} if name is None else {"name": name})
            return [_record(row) for row in found.mappings()]
