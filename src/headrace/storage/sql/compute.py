"""Compute targets in the SQL store."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from headrace.errors import AlreadyExistsError, NotFoundError
from headrace.storage.records import ComputeTargetRecord
from headrace.storage.sql import rows
from headrace.storage.sql import tables as t
from headrace.storage.sql.session import SqlSession, translated

__all__ = ["ComputeTargetMethods"]

_computes = t.compute_targets
_UPDATABLE = frozenset(f.name for f in dataclasses.fields(ComputeTargetRecord)) - {"name", "created_at"}

_INSERT = insert(_computes)
_GET = select(_computes).where(_computes.c.name == bindparam("key"))
_LIST = select(_computes).order_by(_computes.c.name)
_DELETE = delete(_computes).where(_computes.c.name == bindparam("key"))


def _record(row: Mapping[str, Any]) -> ComputeTargetRecord:
    values = dict(row)
    values["config"] = values.get("config") or {}
    return ComputeTargetRecord(**values)


class ComputeTargetMethods(SqlSession):
    """The compute target methods of ``SqlMetadataStore``."""

    @translated
    def create_compute_target(self, record: ComputeTargetRecord) -> ComputeTargetRecord:
        try:
            with self._write() as conn:
                conn.execute(_INSERT, rows.as_row(record))
        except IntegrityError as exc:
            raise AlreadyExistsError("compute target", record.name, "use it, or delete it first") from exc
        return rows.in_utc(record)

    @translated
    def get_compute_target(self, name: str) -> ComputeTargetRecord:
        with self._read() as conn:
            row = conn.execute(_GET, {"key": name}).mappings().first()
        if row is None:
            raise NotFoundError("compute target", name)
        return _record(row)

    @translated
    def list_compute_targets(self) -> list[ComputeTargetRecord]:
        with self._read() as conn:
            return [_record(row) for row in conn.execute(_LIST).mappings()]

    @translated
    def update_compute_target(self, name: str, /, **changes: Any) -> ComputeTargetRecord:
        values = rows.check_changes("compute target", changes, _UPDATABLE)
        with self._write() as conn:
            if values:
                conn.execute(update(_computes).where(_computes.c.name == name).values(values))
            row = conn.execute(_GET, {"key": name}).mappings().first()
        if row is None:
            raise NotFoundError("compute target", name)
        return _record(row)

    @translated
    def delete_compute_target(self, name: str) -> None:
        with self._write() as conn:
            gone = conn.execute(_DELETE, {"key": name}).rowcount
        if not gone:
            raise NotFoundError("compute target", name)
