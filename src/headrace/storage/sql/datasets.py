"""Dataset versions and lineage in the SQL store.

A new version of a name is ``max + 1``; two racing registrations clash on the unique (name, version)
constraint and the loser takes the next number (up to a few attempts).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, select, update

from headrace.errors import AlreadyExistsError, NotFoundError
from headrace.storage.dataset_records import DatasetRecord, DatasetUse
from headrace.storage.sql import outbox, rows
from headrace.storage.sql import tables as t
from headrace.storage.sql.session import SqlSession, retry_version_race, translated

__all__ = ["DatasetMethods"]

_ds = t.datasets
_uses = t.dataset_uses
_UPDATABLE = frozenset({"description", "tags"})
_GET = select(_ds).where(_ds.c.id == bindparam("key"))
_MAX = select(func.max(_ds.c.version)).where(_ds.c.name == bindparam("name"))


def _record(row: Mapping[str, Any]) -> DatasetRecord:
    return DatasetRecord(**{f.name: row[f.name] for f in dataclasses.fields(DatasetRecord)})


class DatasetMethods(SqlSession):
    """The dataset methods of ``SqlMetadataStore``."""

    @translated
    def add_dataset(self, record: DatasetRecord) -> DatasetRecord:
        """See ``MetadataStore.add_dataset``."""

        def insert_next() -> DatasetRecord:
            with self._write() as conn:
                if record.name is not None:
                    latest = conn.execute(_MAX, {"name": record.name}).scalar()
                    numbered = dataclasses.replace(record, version=(latest or 0) + 1)
                else:
                    numbered = dataclasses.replace(record, version=None)
                if conn.execute(_GET, {"key": numbered.id}).first() is not None:
                    raise AlreadyExistsError("dataset", numbered.id, "ids are unique")
                conn.execute(insert(_ds), rows.as_row(numbered))
                if numbered.name is not None:  # an unnamed save (a run's direct input) is no registration
                    outbox.dataset_registered(conn, numbered)
            return rows.in_utc(numbered)

        return retry_version_race(insert_next)

    @translated
    def get_dataset(self, dataset_id: str) -> DatasetRecord:
        with self._read() as conn:
            row = conn.execute(_GET, {"key": dataset_id}).mappings().first()
        if row is None:
            raise NotFoundError("dataset", dataset_id)
        return _record(row)

    @translated
    def get_dataset_version(self, name: str, version: int | None = None) -> DatasetRecord:
        query = select(_ds).where(_ds.c.name == name)
        query = query.where(rows.int_equals(_ds.c.version, version)) if version is not None else \
            query.order_by(_ds.c.version.desc()).limit(1)
        with self._read() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFoundError("dataset", name if version is None else f"{name}:{version}")
        return _record(row)

    @translated
    def list_datasets(self, name: str | None = None, all_versions: bool = False) -> list[DatasetRecord]:
        query = select(_ds).where(_ds.c.name.is_not(None))
        if name is not None:
            query = query.where(_ds.c.name == name)
        if not all_versions:
            latest = select(_ds.c.name, func.max(_ds.c.version).label("v")).where(
                _ds.c.name.is_not(None)).group_by(_ds.c.name).subquery()
            query = query.join(latest, and_(latest.c.name == _ds.c.name, latest.c.v == _ds.c.version))
        with self._read() as conn:
            found = conn.execute(query.order_by(_ds.c.name, _ds.c.version)).mappings()
            return [_record(row) for row in found]

    @translated
    def update_dataset(self, dataset_id: str, /, **changes: Any) -> DatasetRecord:
        bad = set(changes) - _UPDATABLE
        if bad:
            raise ValueError(f"cannot change {', '.join(sorted(bad))} of a dataset version")
        with self._write() as conn:
            if changes:
                conn.execute(update(_ds).where(_ds.c.id == dataset_id).values(**changes))
            row = conn.execute(_GET, {"key": dataset_id}).mappings().first()
        if row is None:
            raise NotFoundError("dataset", dataset_id)
        return _record(row)

    @translated
    def delete_dataset_name(self, name: str) -> int:
        with self._write() as conn:
            done = conn.execute(update(_ds).where(_ds.c.name == name).values(name=None, version=None))
        if done.rowcount == 0:
            raise NotFoundError("dataset", name)
        return done.rowcount

    @translated
    def add_dataset_use(self, use: DatasetUse) -> None:
        key = and_(_uses.c.dataset_id == use.dataset_id, _uses.c.run_id == use.run_id,
                   _uses.c.step_name == use.step_name, _uses.c.role == use.role)
        with self._write() as conn:
            if conn.execute(select(_uses.c.run_id).where(key)).first() is None:
                conn.execute(insert(_uses), rows.as_row(use))

    @translated
    def list_dataset_uses(self, *, dataset_id: str | None = None, run_id: str | None = None) -> list[DatasetUse]:
        query = select(_uses).order_by(_uses.c.created_at, _uses.c.run_id, _uses.c.step_name)
        if dataset_id is not None:
            query = query.where(_uses.c.dataset_id == dataset_id)
        if run_id is not None:
            query = query.where(_uses.c.run_id == run_id)
        with self._read() as conn:
            return [DatasetUse(**{f.name: r[f.name] for f in dataclasses.fields(DatasetUse)})
                    for r in conn.execute(query).mappings()]
