"""Published pipelines in the SQL store: a frozen pipeline under an id, a name and a version."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from headrace.errors import AlreadyExistsError, HeadraceError, NotFoundError
from headrace.storage.records import EntityStatus, PublishedPipelineRecord
from headrace.storage.sql import rows
from headrace.storage.sql import tables as t
from headrace.storage.sql.session import SqlSession, translated

__all__ = ["PublishedPipelineMethods"]

_pp = t.published_pipelines
_FIELDS = tuple(f.name for f in dataclasses.fields(PublishedPipelineRecord))
_UPDATABLE = frozenset(_FIELDS) - {"id"}

_INSERT = insert(_pp)
_GET = select(_pp).where(_pp.c.id == bindparam("key"))
_EXISTS = select(_pp.c.id).where(_pp.c.id == bindparam("key"))
_PIPELINE_EXISTS = select(t.pipelines.c.id).where(t.pipelines.c.id == bindparam("key"))
_LIST_ALL = select(_pp).order_by(_pp.c.created_at.desc(), _pp.c.id.desc())
_LIST_ACTIVE = _LIST_ALL.where(_pp.c.status == EntityStatus.ACTIVE.value)


def published_record(row: Mapping[str, Any]) -> PublishedPipelineRecord:
    values = dict(row)
    values["status"] = EntityStatus(values["status"])
    return PublishedPipelineRecord(**values)


def _explain_clash(conn: Connection, record: PublishedPipelineRecord) -> HeadraceError | None:
    """The error for a published pipeline the database refused (None: not one we can explain)."""
    if conn.execute(_EXISTS, {"key": record.id}).first() is not None:
        return AlreadyExistsError("published pipeline", record.id)
    if conn.execute(_PIPELINE_EXISTS, {"key": record.pipeline_id}).first() is None:
        return NotFoundError("pipeline", record.pipeline_id, "store it with get_or_create_pipeline")
    return None


class PublishedPipelineMethods(SqlSession):
    """The published-pipeline methods of ``SqlMetadataStore``."""

    @translated
    def create_published_pipeline(self, record: PublishedPipelineRecord) -> PublishedPipelineRecord:
        try:
            with self._write() as conn:
                conn.execute(_INSERT, rows.as_row(record))
        except IntegrityError as exc:
            with self._read() as conn:
                error = _explain_clash(conn, record)
            if error is None:
                raise
            raise error from exc
        return rows.in_utc(record)

    @translated
    def get_published_pipeline(self, published_id: str) -> PublishedPipelineRecord:
        with self._read() as conn:
            row = conn.execute(_GET, {"key": published_id}).mappings().first()
        if row is None:
            raise NotFoundError("published pipeline", published_id)
        return published_record(row)

    @translated
    def list_published_pipelines(self, *, active_only: bool = True) -> list[PublishedPipelineRecord]:
        with self._read() as conn:
            result = conn.execute(_LIST_ACTIVE if active_only else _LIST_ALL).mappings()
            return [published_record(row) for row in result]

    @translated
    def update_published_pipeline(self, published_id: str, **changes: Any) -> PublishedPipelineRecord:
        """See ``MetadataStore.update_published_pipeline``.

        Raises:
            NotFoundError: no such published pipeline, or a new ``pipeline_id`` that does not exist.
            ValueError: a field that does not exist or may not change (``id``), or an unknown status.
        """
        values = rows.check_changes("published pipeline", changes, _UPDATABLE, EntityStatus)
        try:
            with self._write() as conn:
                row = rows.update_by_id(conn, _pp, published_id, values)
        except IntegrityError as exc:
            if "pipeline_id" not in values:
                raise
            raise NotFoundError("pipeline", values["pipeline_id"]) from exc
        if row is None:
            raise NotFoundError("published pipeline", published_id)
        return published_record(row)
