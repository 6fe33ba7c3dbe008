"""Published prompt flows in the SQL store: one row per flow name, one row per version.

A new version is ``max + 1`` under a lock on the flow's row (``SELECT ... FOR UPDATE`` on PostgreSQL; on
SQLite the write transaction's lock covers it), so concurrent publications get distinct numbers. The
first publication of a name inserts the flow row; two racing first publications clash on its primary
key, and the loser simply tries again (it then finds the row and locks it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from headrace.errors import AlreadyExistsError, NotFoundError
from headrace.storage.records import EntityStatus, FlowVersion, PublishedFlowRecord
from headrace.storage.sql import rows
from headrace.storage.sql import tables as t
from headrace.storage.sql.session import SqlSession, translated

__all__ = ["FlowMethods"]

_flows = t.flows
_fv = t.flow_versions
_UPDATABLE = frozenset({"status", "default_version", "updated_at"})
_ACTIVE = EntityStatus.ACTIVE.value

_INSERT_FLOW = insert(_flows)
_INSERT_VERSION = insert(_fv)
_GET = select(_flows).where(_flows.c.name == bindparam("key"))
_LOCK = _GET.with_for_update()
_LIST_ALL = select(_flows).order_by(_flows.c.name)
_LIST_ACTIVE = _LIST_ALL.where(_flows.c.status == _ACTIVE)
_VERSIONS = select(_fv).where(_fv.c.flow_name == bindparam("key")).order_by(_fv.c.version)
_ALL_VERSIONS = select(_fv).order_by(_fv.c.flow_name, _fv.c.version)
_ACTIVE_VERSIONS = _ALL_VERSIONS.join(_flows, _flows.c.name == _fv.c.flow_name).where(_flows.c.status == _ACTIVE)


def _entry(row: Mapping[str, Any]) -> FlowVersion:
    return FlowVersion(version=row["version"], snapshot=row["snapshot"], created_at=row["created_at"],
                       description=row["description"], interface=row["interface"] or {})


def _record(row: Mapping[str, Any], versions: Iterable[FlowVersion]) -> PublishedFlowRecord:
    return PublishedFlowRecord(name=row["name"], status=EntityStatus(row["status"]),
                               default_version=row["default_version"], versions=tuple(versions),
                               created_at=row["created_at"], updated_at=row["updated_at"])


def _versions(conn: Connection, name: str) -> list[FlowVersion]:
    return [_entry(row) for row in conn.execute(_VERSIONS, {"key": name}).mappings()]


def _check_version(version: Any) -> None:
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 1):
        raise ValueError(f"a flow version is a whole number of at least 1, not {version!r}")


class FlowMethods(SqlSession):
    """The published-flow methods of ``SqlMetadataStore``."""

    @translated
    def add_flow_version(self, name: str, *, snapshot: str, created_at: datetime, version: int | None = None,
                         description: str | None = None, interface: dict[str, Any] | None = None,
                         make_default: bool = True) -> PublishedFlowRecord:
        """See ``MetadataStore.add_flow_version``."""
        _check_version(version)
        for attempt in range(3):
            try:
                with self._write() as conn:
                    return self._add_version(conn, name, snapshot, created_at, version, description,
                                             interface or {}, make_default)
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    def _add_version(conn: Connection, name: str, snapshot: str, created_at: datetime, version: int | None,
                     description: str | None, interface: dict[str, Any], make_default: bool) -> PublishedFlowRecord:
        current = conn.execute(_LOCK, {"key": name}).mappings().first()
        versions = _versions(conn, name) if current is not None else []
        number = version if version is not None else max((v.version for v in versions), default=0) + 1
        if any(v.version == number for v in versions):
            raise AlreadyExistsError("flow version", f"{name} {number}",
                                     "publish without a version to get the next number")
        entry = rows.in_utc(FlowVersion(number, snapshot, created_at, description, interface))
        if current is None:
            conn.execute(_INSERT_FLOW, {"name": name, "status": _ACTIVE, "default_version": number,
                                        "created_at": created_at, "updated_at": created_at})
        conn.execute(_INSERT_VERSION, rows.as_row(entry) | {"flow_name": name})
        values: dict[str, Any] = {"updated_at": created_at}
        if make_default or current is None:
            values["default_version"] = number
        conn.execute(update(_flows).where(_flows.c.name == name).values(values))
        row = conn.execute(_GET, {"key": name}).mappings().one()
        return _record(row, sorted((*versions, entry), key=lambda v: v.version))

    @translated
    def get_flow(self, name: str) -> PublishedFlowRecord:
        with self._read() as conn:
            row = conn.execute(_GET, {"key": name}).mappings().first()
            if row is None:
                raise NotFoundError("flow", name)
            return _record(row, _versions(conn, name))

    @translated
    def list_flows(self, *, active_only: bool = False) -> list[PublishedFlowRecord]:
        with self._read() as conn:
            found = conn.execute(_LIST_ACTIVE if active_only else _LIST_ALL).mappings().all()
            by_flow: dict[str, list[FlowVersion]] = {row["name"]: [] for row in found}
            for row in conn.execute(_ACTIVE_VERSIONS if active_only else _ALL_VERSIONS).mappings():
                by_flow.setdefault(row["flow_name"], []).append(_entry(row))
        return [_record(row, by_flow[row["name"]]) for row in found]

    @translated
    def update_flow(self, name: str, /, **changes: Any) -> PublishedFlowRecord:
        """See ``MetadataStore.update_flow``."""
        values = rows.check_changes("flow", changes, _UPDATABLE, EntityStatus)
        with self._write() as conn:
            if conn.execute(_LOCK, {"key": name}).first() is None:
                raise NotFoundError("flow", name)
            versions = _versions(conn, name)
            wanted = values.get("default_version")
            if wanted is not None and all(v.version != wanted for v in versions):
                valid = ", ".join(str(v.version) for v in versions)
                raise NotFoundError("flow version", f"{name} {wanted}", f"versions of flow {name!r}: {valid}")
            if values:
                conn.execute(update(_flows).where(_flows.c.name == name).values(values))
            row = conn.execute(_GET, {"key": name}).mappings().one()
        return _record(row, versions)
