"""Model versions, stage history and aliases in the SQL store.

A new version of a name is ``max + 1``; two racing registrations clash on the unique (name, version)
constraint and the loser takes the next number (up to a few attempts). A stage change and its history
rows are written in one transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update

from headrace import clock
from headrace.core.model import model_id
from headrace.errors import NotFoundError
from headrace.storage.model_records import ModelAliasRecord, ModelRecord, StageChangeRecord
from headrace.storage.sql import model_tables as t
from headrace.storage.sql import outbox, rows
from headrace.storage.sql.session import SqlSession, retry_version_race, translated

__all__ = ["ModelMethods"]

_m = t.models
_h = t.model_stage_changes
_a = t.model_aliases
_UPDATABLE = frozenset({"description", "tags", "properties"})


def _record(row: Mapping[str, Any]) -> ModelRecord:
    return ModelRecord(**{f.name: row[f.name] for f in dataclasses.fields(ModelRecord)})


def _change(row: Mapping[str, Any]) -> StageChangeRecord:
    return StageChangeRecord(**{f.name: row[f.name] for f in dataclasses.fields(StageChangeRecord)})


def _alias(row: Mapping[str, Any]) -> ModelAliasRecord:
    return ModelAliasRecord(**{f.name: row[f.name] for f in dataclasses.fields(ModelAliasRecord)})


def _key(name: str, version: int) -> Any:
    return and_(_m.c.name == name, rows.int_equals(_m.c.version, version))


def _missing(name: str, version: int | None) -> NotFoundError:
    return NotFoundError("model", name if version is None else model_id(name, version))


class ModelMethods(SqlSession):
    """The model registry methods of ``SqlMetadataStore``."""

    @translated
    def add_model_version(self, record: ModelRecord) -> ModelRecord:
        """See ``MetadataStore.add_model_version``."""

        def insert_next() -> ModelRecord:
            with self._write() as conn:
                latest = conn.execute(select(func.max(_m.c.version)).where(_m.c.name == record.name)).scalar()
                number = (latest or 0) + 1
                numbered = dataclasses.replace(record, version=number, id=model_id(record.name, number))
                conn.execute(insert(_m), rows.as_row(numbered))
                outbox.model_registered(conn, numbered)
            return rows.in_utc(numbered)

        return retry_version_race(insert_next)

    @translated
    def get_model_version(self, name: str, version: int | None = None) -> ModelRecord:
        query = select(_m).where(_m.c.name == name)
        query = query.where(rows.int_equals(_m.c.version, version)) if version is not None else \
            query.order_by(_m.c.version.desc()).limit(1)
        with self._read() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            raise _missing(name, version)
        return _record(row)

    @translated
    def list_model_versions(self, name: str | None = None, *, latest: bool = False,
                            run_id: str | None = None) -> list[ModelRecord]:
        query = select(_m)
        if name is not None:
            query = query.where(_m.c.name == name)
        if run_id is not None:
            query = query.where(_m.c.run_id == run_id)
        if latest:
            top = select(_m.c.name, func.max(_m.c.version).label("v")).group_by(_m.c.name).subquery()
            query = query.join(top, and_(top.c.name == _m.c.name, top.c.v == _m.c.version))
        with self._read() as conn:
            return [_record(r) for r in conn.execute(query.order_by(_m.c.name, _m.c.version)).mappings()]

    @translated
    def update_model_version(self, name: str, version: int, /, **changes: Any) -> ModelRecord:
        bad = set(changes) - _UPDATABLE
        if bad:
            raise ValueError(f"cannot change {', '.join(sorted(bad))} of a model version")
        with self._write() as conn:
            if changes:
                conn.execute(update(_m).where(_key(name, version)).values(**changes))
            row = conn.execute(select(_m).where(_key(name, version))).mappings().first()
        if row is None:
            raise _missing(name, version)
        return _record(row)

    @translated
    def delete_model_version(self, name: str, version: int) -> None:
        with self._write() as conn:
            done = conn.execute(delete(_m).where(_key(name, version)))
            if done.rowcount == 0:
                raise _missing(name, version)
            conn.execute(delete(_h).where(and_(_h.c.name == name, _h.c.version == version)))
            conn.execute(delete(_a).where(and_(_a.c.name == name, _a.c.version == version)))

    @translated
    def set_model_stage(self, name: str, version: int, stage: str, *, changed_by: str | None,
                        comment: str | None = None, archive_existing: bool = False,
                        ) -> tuple[ModelRecord, list[StageChangeRecord]]:
        now = clock.now()
        changes: list[StageChangeRecord] = []
        with self._write() as conn:
            row = conn.execute(select(_m).where(_key(name, version))).mappings().first()
            if row is None:
                raise _missing(name, version)
            if row["stage"] == stage:
                return _record(row), []
            moves = [(version, row["stage"], stage, comment)]
            if archive_existing and stage not in ("None", "Archived"):
                holders = conn.execute(select(_m.c.version).where(
                    _m.c.name == name, _m.c.stage == stage, _m.c.version != version).order_by(_m.c.version))
                why = f"archived: version {version} moved to {stage}"
                moves += [(v, stage, "Archived", why) for (v,) in holders]
            for number, before, after, note in moves:
                conn.execute(update(_m).where(_key(name, number)).values(stage=after, stage_changed_at=now))
                change = StageChangeRecord(name, number, before, after, changed_by, now, note)
                conn.execute(insert(_h), rows.as_row(change))
                changes.append(rows.in_utc(change))
            rows_after = {r["version"]: r for r in conn.execute(select(_m).where(
                _m.c.name == name, _m.c.version.in_([c.version for c in changes]))).mappings()}
            row = rows_after[version]
            for change in changes:  # each event describes its own version (an archived one has its own id, run)
                outbox.model_stage_changed(conn, _record(rows_after[change.version]), change)  # type: ignore[arg-type]
        return _record(row), changes  # type: ignore[arg-type]

    @translated
    def list_model_stage_changes(self, name: str, version: int | None = None) -> list[StageChangeRecord]:
        query = select(_h).where(_h.c.name == name)
        if version is not None:
            query = query.where(rows.int_equals(_h.c.version, version))
        with self._read() as conn:
            return [_change(r) for r in conn.execute(query.order_by(_h.c.seq)).mappings()]

    @translated
    def set_model_alias(self, record: ModelAliasRecord) -> ModelAliasRecord:
        with self._write() as conn:
            if conn.execute(select(_m.c.id).where(_key(record.name, record.version))).first() is None:
                raise _missing(record.name, record.version)
            conn.execute(delete(_a).where(and_(_a.c.name == record.name, _a.c.alias == record.alias)))
            conn.execute(insert(_a), rows.as_row(record))
        return rows.in_utc(record)

    @translated
    def delete_model_alias(self, name: str, alias: str) -> None:
        with self._write() as conn:
            done = conn.execute(delete(_a).where(and_(_a.c.name == name, _a.c.alias == alias)))
        if done.rowcount == 0:
            raise NotFoundError("model alias", f"{name}@{alias}")

    @translated
    def list_model_aliases(self, name: str | None = None) -> list[ModelAliasRecord]:
        query = select(_a).order_by(_a.c.name, _a.c.alias)
        if name is not None:
            query = query.where(_a.c.name == name)
        with self._read() as conn:
            return [_alias(r) for r in conn.execute(query).mappings()]
