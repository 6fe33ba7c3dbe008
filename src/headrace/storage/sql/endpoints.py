"""Pipeline endpoints in the SQL store: one row per endpoint, one row per version.

Versions are the strings "0", "1", ... ordered by their number. A new version is ``max + 1`` under
a lock on the endpoint row (``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite the write
transaction's lock covers it), so concurrent additions get distinct, consecutive numbers.
An endpoint reads as its row then its versions: versions only grow, so the default version read
with the row is always among the versions read after it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from headrace.errors import AlreadyExistsError, HeadraceError, NotFoundError
from headrace.storage.records import EndpointVersion, EntityStatus, PipelineEndpointRecord
from headrace.storage.sql import rows
from headrace.storage.sql import tables as t
from headrace.storage.sql.session import SqlSession, translated

__all__ = ["PipelineEndpointMethods"]

_ep = t.pipeline_endpoints
_ev = t.endpoint_versions
_UPDATABLE = frozenset({"name", "description", "status", "default_version", "updated_at"})
_ACTIVE = EntityStatus.ACTIVE.value

_INSERT_ENDPOINT = insert(_ep)
_INSERT_VERSION = insert(_ev)
_BY_ID = select(_ep).where(_ep.c.id == bindparam("key"))
_BY_NAME = select(_ep).where(_ep.c.name == bindparam("key"))
_LOCK = _BY_ID.with_for_update()
_LIST_ALL = select(_ep).order_by(_ep.c.name)
_LIST_ACTIVE = _LIST_ALL.where(_ep.c.status == _ACTIVE)
_VERSION_COLUMNS = (_ev.c.endpoint_id, _ev.c.version, _ev.c.published_pipeline_id, _ev.c.added_at)
_VERSIONS = select(*_VERSION_COLUMNS).where(_ev.c.endpoint_id == bindparam("key"))
_ALL_VERSIONS = select(*_VERSION_COLUMNS)
_ACTIVE_VERSIONS = _ALL_VERSIONS.join(_ep, _ep.c.id == _ev.c.endpoint_id).where(_ep.c.status == _ACTIVE)
_PUBLISHED_EXISTS = select(t.published_pipelines.c.id).where(t.published_pipelines.c.id == bindparam("key"))


def _number(version: str) -> int:
    """A version's number; -1 for a version that is not one (only a caller's own record can have it)."""
    return int(version) if version.isdecimal() else -1


def _sorted(versions: Iterable[EndpointVersion]) -> tuple[EndpointVersion, ...]:
    return tuple(sorted(versions, key=lambda v: (_number(v.version), v.version)))


def _version_entry(row: Mapping[str, Any]) -> EndpointVersion:
    return EndpointVersion(row["version"], row["published_pipeline_id"], row["added_at"])


def _endpoint_record(row: Mapping[str, Any], versions: Iterable[EndpointVersion]) -> PipelineEndpointRecord:
    values = dict(row)
    values["status"] = EntityStatus(values["status"])
    return PipelineEndpointRecord(**values, versions=_sorted(versions))


def _versions(conn: Connection, endpoint_id: str) -> tuple[EndpointVersion, ...]:
    return _sorted(_version_entry(row) for row in conn.execute(_VERSIONS, {"key": endpoint_id}).mappings())


def _version_rows(endpoint_id: str, versions: Iterable[EndpointVersion]) -> list[dict[str, Any]]:
    return [rows.as_row(v) | {"endpoint_id": endpoint_id} for v in versions]


def _check_new(record: PipelineEndpointRecord) -> None:
    """Raises: ValueError for versions a store could not hold consistently."""
    numbers = [v.version for v in record.versions]
    published = [v.published_pipeline_id for v in record.versions]
    if len(set(numbers)) != len(numbers) or len(set(published)) != len(published):
        raise ValueError(
            f"pipeline endpoint {record.name!r}: versions and their published pipelines must be unique"
        )
    if record.versions and record.version() is None:
        raise ValueError(
            f"pipeline endpoint {record.name!r}: default version {record.default_version!r} is not one of"
            f" its versions ({', '.join(numbers)})"
        )


def _explain_clash(conn: Connection, record: PipelineEndpointRecord) -> HeadraceError | None:
    """The error for an endpoint the database refused (None: not one we can explain)."""
    if conn.execute(_BY_ID, {"key": record.id}).first() is not None:
        return AlreadyExistsError("pipeline endpoint", record.id)
    if conn.execute(_BY_NAME, {"key": record.name}).first() is not None:
        return AlreadyExistsError(
            "pipeline endpoint", record.name, "pick another name, or archive the endpoint"
        )
    for entry in record.versions:
        if conn.execute(_PUBLISHED_EXISTS, {"key": entry.published_pipeline_id}).first() is None:
            return NotFoundError("published pipeline", entry.published_pipeline_id)
    return None


def _lock(conn: Connection, endpoint_id: str) -> Mapping[str, Any]:
    """The endpoint's row, locked until the transaction ends. Raises: NotFoundError."""
    row = conn.execute(_LOCK, {"key": endpoint_id}).mappings().first()
    if row is None:
        raise NotFoundError("pipeline endpoint", endpoint_id)
    return row


class PipelineEndpointMethods(SqlSession):
    """The pipeline-endpoint methods of ``SqlMetadataStore``."""

    @translated
    def create_pipeline_endpoint(self, record: PipelineEndpointRecord) -> PipelineEndpointRecord:
        """See ``MetadataStore.create_pipeline_endpoint``.

        Raises:
            AlreadyExistsError: the id or the name is taken.
            NotFoundError: a version names a published pipeline that does not exist.
            ValueError: duplicate versions, or a default version that is not one of them.
        """
        _check_new(record)
        try:
            with self._write() as conn:
                endpoint_row = rows.as_row(record)
                del endpoint_row["versions"]
                conn.execute(_INSERT_ENDPOINT, endpoint_row)
                if record.versions:
                    conn.execute(_INSERT_VERSION, _version_rows(record.id, record.versions))
        except IntegrityError as exc:
            with self._read() as conn:
                error = _explain_clash(conn, record)
            if error is None:
                raise
            raise error from exc
        return dataclasses.replace(
            rows.in_utc(record), versions=_sorted(rows.in_utc(v) for v in record.versions)
        )

    @translated
    def get_pipeline_endpoint(
        self, endpoint_id: str | None = None, *, name: str | None = None
    ) -> PipelineEndpointRecord:
        """See ``MetadataStore.get_pipeline_endpoint``.

        Raises:
            NotFoundError: no such endpoint.
            ValueError: neither an id nor a name.
        """
        if endpoint_id is None and name is None:
            raise ValueError("get_pipeline_endpoint needs an endpoint id or a name")
        stmt, key = (_BY_ID, endpoint_id) if endpoint_id is not None else (_BY_NAME, name)
        with self._read() as conn:
            row = conn.execute(stmt, {"key": key}).mappings().first()
            if row is None:
                raise NotFoundError("pipeline endpoint", str(key))
            return _endpoint_record(row, _versions(conn, row["id"]))

    @translated
    def list_pipeline_endpoints(self, *, active_only: bool = True) -> list[PipelineEndpointRecord]:
        with self._read() as conn:
            endpoints = conn.execute(_LIST_ACTIVE if active_only else _LIST_ALL).mappings().all()
            by_endpoint: dict[str, list[EndpointVersion]] = {row["id"]: [] for row in endpoints}
            for row in conn.execute(_ACTIVE_VERSIONS if active_only else _ALL_VERSIONS).mappings():
                by_endpoint.setdefault(row["endpoint_id"], []).append(_version_entry(row))
        return [_endpoint_record(row, by_endpoint[row["id"]]) for row in endpoints]

    @translated
    def update_pipeline_endpoint(self, endpoint_id: str, **changes: Any) -> PipelineEndpointRecord:
        """See ``MetadataStore.update_pipeline_endpoint``.

        Raises:
            ValueError: a field that may not change, an unknown status or an empty name.
        """
        values = rows.check_changes("pipeline endpoint", changes, _UPDATABLE, EntityStatus)
        if "name" in values and (not isinstance(values["name"], str) or not values["name"]):
            raise ValueError(f"invalid pipeline endpoint name {values['name']!r}")
        if "default_version" in values:
            values["default_version"] = str(values["default_version"])
        try:
            with self._write() as conn:
                current = _lock(conn, endpoint_id)
                versions = _versions(conn, endpoint_id)
                wanted = values.get("default_version")
                if wanted is not None and all(v.version != wanted for v in versions):
                    valid = ", ".join(v.version for v in versions) or "none"
                    raise NotFoundError(
                        "pipeline endpoint version",
                        wanted,
                        f"versions of pipeline endpoint {current['name']!r}: {valid}",
                    )
                row = rows.update_by_id(conn, _ep, endpoint_id, values)
        except IntegrityError as exc:
            if "name" not in values:
                raise
            raise AlreadyExistsError(
                "pipeline endpoint", values["name"], "pick another name, or archive the endpoint that has it"
            ) from exc
        return _endpoint_record(row, versions)

    @translated
    def add_endpoint_version(
        self, endpoint_id: str, published_pipeline_id: str, *, make_default: bool, added_at: datetime
    ) -> PipelineEndpointRecord:
        """See ``MetadataStore.add_endpoint_version``; also sets the endpoint's ``updated_at`` to ``added_at``.

        Raises:
            NotFoundError: no such endpoint or published pipeline.
        """
        with self._write() as conn:
            current = _lock(conn, endpoint_id)
            if conn.execute(_PUBLISHED_EXISTS, {"key": published_pipeline_id}).first() is None:
                raise NotFoundError("published pipeline", published_pipeline_id)
            versions = _versions(conn, endpoint_id)
            for v in versions:
                if v.published_pipeline_id == published_pipeline_id:
                    raise AlreadyExistsError(
                        "pipeline endpoint version",
                        v.version,
                        f"published pipeline {published_pipeline_id} is already version {v.version} of"
                        f" pipeline endpoint {current['name']!r}",
                    )
            number = max((_number(v.version) for v in versions), default=-1) + 1
            entry = rows.in_utc(EndpointVersion(str(number), published_pipeline_id, added_at))
            conn.execute(_INSERT_VERSION, _version_rows(endpoint_id, [entry]))
            values: dict[str, Any] = {"updated_at": added_at}
            if make_default:
                values["default_version"] = entry.version
            row = rows.update_by_id(conn, _ep, endpoint_id, values)
        return _endpoint_record(row, (*versions, entry))
