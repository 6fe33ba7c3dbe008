"""MLflow's logged models in the SQL store (``LoggedModelStore``): one row each, newest-first pages."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import and_, insert, or_, select, update

from headrace.errors import AlreadyExistsError, NotFoundError
from headrace.storage.model_records import LoggedModelRecord
from headrace.storage.sql import model_tables as t
from headrace.storage.sql import rows
from headrace.storage.sql.session import SqlSession, translated

__all__ = ["LoggedModelMethods"]

_l = t.logged_models
_UPDATABLE = frozenset({"status", "status_message", "tags", "params", "metrics", "deleted", "updated_at"})


def _record(row: Mapping[str, Any]) -> LoggedModelRecord:
    return LoggedModelRecord(**{f.name: row[f.name] for f in dataclasses.fields(LoggedModelRecord)})


class LoggedModelMethods(SqlSession):
    """The logged model methods of ``SqlMetadataStore``."""

    @translated
    def add_logged_model(self, record: LoggedModelRecord) -> LoggedModelRecord:
        """See ``MetadataStore.add_logged_model``."""
        stored = rows.in_utc(record)
        with self._write() as conn:
            if conn.execute(select(_l.c.id).where(_l.c.id == record.id)).first() is not None:
                raise AlreadyExistsError("logged model", record.id)
            conn.execute(insert(_l), rows.as_row(stored))
        return stored

    @translated
    def get_logged_model(self, model_id: str) -> LoggedModelRecord:
        with self._read() as conn:
            row = conn.execute(select(_l).where(_l.c.id == model_id)).mappings().first()
        if row is None:
            raise NotFoundError("logged model", model_id)
        return _record(row)

    @translated
    def update_logged_model(self, model_id: str, /, **changes: Any) -> LoggedModelRecord:
        values = rows.check_changes("logged model", changes, _UPDATABLE)
        with self._write() as conn:
            if values:
                conn.execute(update(_l).where(_l.c.id == model_id).values(**values))
            row = conn.execute(select(_l).where(_l.c.id == model_id)).mappings().first()
        if row is None:
            raise NotFoundError("logged model", model_id)
        return _record(row)

    @translated
    def list_logged_models(self, *, experiment_ids: Sequence[str] | None = None, source_run_id: str | None = None,
                           name: str | None = None, include_deleted: bool = False, limit: int | None = None,
                           cursor: str | None = None) -> tuple[list[LoggedModelRecord], str | None]:
        query = select(_l)
        if experiment_ids is not None:
            query = query.where(_l.c.experiment_id.in_(list(experiment_ids)))
        if source_run_id is not None:
            query = query.where(_l.c.source_run_id == source_run_id)
        if name is not None:
            query = query.where(_l.c.name == name)
        if not include_deleted:
            query = query.where(_l.c.deleted.is_(False))
        if cursor is not None:
            after_at, after_id = rows.decode_cursor(cursor)
            query = query.where(or_(_l.c.created_at < after_at, and_(_l.c.created_at == after_at, _l.c.id < after_id)))
        query = query.order_by(_l.c.created_at.desc(), _l.c.id.desc())
        if limit is not None:
            query = query.limit(limit + 1)
        with self._read() as conn:
            page = [_record(r) for r in conn.execute(query).mappings()]
        if limit is None or len(page) <= limit:
            return page, None
        page = page[:limit]
        last = page[-1]
        assert last.created_at is not None
        return page, rows.encode_cursor(last.created_at, last.id)
