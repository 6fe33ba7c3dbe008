"""Modules and module versions in the SQL store (``ModuleStep``'s scripts)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from headrace.errors import AlreadyExistsError, NotFoundError
from headrace.storage.module_records import ModuleRecord, ModuleVersionRecord
from headrace.storage.sql import rows
from headrace.storage.sql import tables as t
from headrace.storage.sql.session import SqlSession, translated

__all__ = ["ModuleMethods"]

_m = t.modules
_v = t.module_versions
_STATUSES = ("Active", "Deprecated", "Disabled")
_MODULE_UPDATABLE = frozenset({"name", "description", "default_version", "status", "updated_at"})
_VERSION_UPDATABLE = frozenset({"description", "status", "updated_at"})

_BY_ID = select(_m).where(_m.c.id == bindparam("key"))
_BY_NAME = select(_m).where(_m.c.name == bindparam("key"))
_LIST = select(_m).order_by(_m.c.created_at.desc(), _m.c.id.desc())
_VERSION = select(_v).where(_v.c.module_id == bindparam("module_id"), _v.c.version == bindparam("version"))
_VERSIONS = select(_v).where(_v.c.module_id == bindparam("module_id")).order_by(_v.c.created_at, _v.c.version)


def _module(row: Mapping[str, Any]) -> ModuleRecord:
    return ModuleRecord(**dict(row))


def _version(row: Mapping[str, Any]) -> ModuleVersionRecord:
    return ModuleVersionRecord(**dict(row))


def _check_status(kind: str, values: Mapping[str, Any]) -> None:
    if "status" in values and values["status"] not in _STATUSES:
        raise ValueError(f"invalid {kind} status {values['status']!r}; one of {', '.join(_STATUSES)}")


class ModuleMethods(SqlSession):
    """The module methods of ``SqlMetadataStore``."""

    @translated
    def create_module(self, record: ModuleRecord) -> ModuleRecord:
        _check_status("module", dataclasses.asdict(record))
        try:
            with self._write() as conn:
                conn.execute(insert(_m), rows.as_row(record))
        except IntegrityError as exc:
            with self._read() as conn:
                taken = conn.execute(_BY_ID, {"key": record.id}).first() is not None
            raise AlreadyExistsError("module", record.id if taken else record.name) from exc
        return rows.in_utc(record)

    @translated
    def get_module(self, module_id: str | None = None, *, name: str | None = None) -> ModuleRecord:
        if (module_id is None) == (name is None):
            raise ValueError("get_module takes a module id or a name, not both or neither")
        with self._read() as conn:
            stmt, key = (_BY_ID, module_id) if module_id is not None else (_BY_NAME, name)
            row = conn.execute(stmt, {"key": key}).mappings().first()
        if row is None:
            raise NotFoundError("module", str(module_id if module_id is not None else name))
        return _module(row)

    @translated
    def list_modules(self) -> list[ModuleRecord]:
        with self._read() as conn:
            return [_module(row) for row in conn.execute(_LIST).mappings()]

    @translated
    def update_module(self, module_id: str, **changes: Any) -> ModuleRecord:
        values = rows.check_changes("module", changes, _MODULE_UPDATABLE)
        _check_status("module", values)
        if "name" in values and (not isinstance(values["name"], str) or not values["name"]):
            raise ValueError(f"invalid module name {values['name']!r}")
        try:
            with self._write() as conn:
                if values.get("default_version") is not None and conn.execute(
                        _VERSION, {"module_id": module_id, "version": values["default_version"]}).first() is None:
                    raise NotFoundError("module version", f"{module_id}/{values['default_version']}")
                row = rows.update_by_id(conn, _m, module_id, values)
        except IntegrityError as exc:
            raise AlreadyExistsError("module", str(values.get("name"))) from exc
        if row is None:
            raise NotFoundError("module", module_id)
        return _module(row)

    @translated
    def create_module_version(self, record: ModuleVersionRecord) -> ModuleVersionRecord:
        _check_status("module version", dataclasses.asdict(record))
        try:
            with self._write() as conn:
                conn.execute(insert(_v), rows.as_row(record))
        except IntegrityError as exc:
            with self._read() as conn:
                if conn.execute(_BY_ID, {"key": record.module_id}).first() is None:
                    raise NotFoundError("module", record.module_id) from exc
            raise AlreadyExistsError("module version", f"{record.module_id}/{record.version}") from exc
        return rows.in_utc(record)

    @translated
    def get_module_version(self, module_id: str, version: str) -> ModuleVersionRecord:
        with self._read() as conn:
            row = conn.execute(_VERSION, {"module_id": module_id, "version": version}).mappings().first()
        if row is None:
            raise NotFoundError("module version", f"{module_id}/{version}")
        return _version(row)

    @translated
    def list_module_versions(self, module_id: str) -> list[ModuleVersionRecord]:
        with self._read() as conn:
            if conn.execute(_BY_ID, {"key": module_id}).first() is None:
                raise NotFoundError("module", module_id)
            return [_version(row) for row in conn.execute(_VERSIONS, {"module_id": module_id}).mappings()]

    @translated
    def update_module_version(self, module_id: str, version: str, **changes: Any) -> ModuleVersionRecord:
        values = rows.check_changes("module version", changes, _VERSION_UPDATABLE)
        _check_status("module version", values)
        if not values:
            return self.get_module_version(module_id, version)
        stmt = update(_v).where(_v.c.module_id == module_id, _v.c.version == version).values(**values).returning(*_v.c)
        with self._write() as conn:
            row = conn.execute(stmt).mappings().first()
        if row is None:
            raise NotFoundError("module version", f"{module_id}/{version}")
        return _version(row)
