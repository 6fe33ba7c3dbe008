"""Pipeline drafts in the SQL store: an editable graph with the settings of its next run."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError

from headrace.errors import AlreadyExistsError, NotFoundError
from headrace.storage.draft_records import PipelineDraftRecord
from headrace.storage.sql import rows
from headrace.storage.sql import tables as t
from headrace.storage.sql.session import SqlSession, translated

__all__ = ["DraftMethods"]

_d = t.pipeline_drafts
_FIELDS = tuple(f.name for f in dataclasses.fields(PipelineDraftRecord))
_UPDATABLE = frozenset(_FIELDS) - {"id", "created_at"}

_INSERT = insert(_d)
_GET = select(_d).where(_d.c.id == bindparam("key"))
_EXISTS = select(_d.c.id).where(_d.c.id == bindparam("key"))
_PIPELINE_EXISTS = select(t.pipelines.c.id).where(t.pipelines.c.id == bindparam("key"))
_LIST = select(_d).order_by(_d.c.created_at.desc(), _d.c.id.desc())


def _record(row: Mapping[str, Any]) -> PipelineDraftRecord:
    return PipelineDraftRecord(**dict(row))


class DraftMethods(SqlSession):
    """The pipeline-draft methods of ``SqlMetadataStore``."""

    @translated
    def create_pipeline_draft(self, record: PipelineDraftRecord) -> PipelineDraftRecord:
        try:
            with self._write() as conn:
                conn.execute(_INSERT, rows.as_row(record))
        except IntegrityError as exc:
            with self._read() as conn:
                if conn.execute(_EXISTS, {"key": record.id}).first() is not None:
                    raise AlreadyExistsError("pipeline draft", record.id) from exc
                if conn.execute(_PIPELINE_EXISTS, {"key": record.pipeline_id}).first() is None:
                    raise NotFoundError("pipeline", record.pipeline_id, "store it with get_or_create_pipeline") from exc
            raise
        return rows.in_utc(record)

    @translated
    def get_pipeline_draft(self, draft_id: str) -> PipelineDraftRecord:
        with self._read() as conn:
            row = conn.execute(_GET, {"key": draft_id}).mappings().first()
        if row is None:
            raise NotFoundError("pipeline draft", draft_id)
        return _record(row)

    @translated
    def list_pipeline_drafts(self, *, tags: Mapping[str, str] | None = None) -> list[PipelineDraftRecord]:
        with self._read() as conn:
            found = [_record(row) for row in conn.execute(_LIST).mappings()]
        # Drafts are few and tags are JSON (no portable JSON predicate on SQLite and PostgreSQL): filter here.
        wanted = {str(k): str(v) for k, v in (tags or {}).items()}
        return [d for d in found if all(d.tags.get(k) == v for k, v in wanted.items())]

    @translated
    def update_pipeline_draft(self, draft_id: str, **changes: Any) -> PipelineDraftRecord:
        values = rows.check_changes("pipeline draft", changes, _UPDATABLE)
        if "name" in values and (not isinstance(values["name"], str) or not values["name"]):
            raise ValueError(f"invalid pipeline draft name {values['name']!r}")
        try:
            with self._write() as conn:
                row = rows.update_by_id(conn, _d, draft_id, values)
        except IntegrityError as exc:
            if "pipeline_id" not in values:
                raise
            raise NotFoundError("pipeline", values["pipeline_id"]) from exc
        if row is None:
            raise NotFoundError("pipeline draft", draft_id)
        return _record(row)

    @translated
    def delete_pipeline_draft(self, draft_id: str) -> None:
        with self._write() as conn:
            if conn.execute(delete(_d).where(_d.c.id == draft_id)).rowcount == 0:
                raise NotFoundError("pipeline draft", draft_id)
