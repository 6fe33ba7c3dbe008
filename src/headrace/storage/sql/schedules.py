"""Schedules in the SQL store: definitions and state, leases, fires, file cursors, tick records.

Exactly-once fires rest on two things here:

* ``claim_due_schedules`` hands each due schedule to one scheduler at a time: a row lease, taken
  with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite writers take turns on its write lock).
* ``create_scheduled_run`` inserts the ``schedule_fires`` row (schedule, fire key) before the run,
  in one transaction, with ``ON CONFLICT DO NOTHING``: a second fire of the same slot or file
  version, after a crash or from a competing process, gets the first run back instead.

State saves are conditional on still holding the lease (``owner``), so a scheduler that lost its
lease (it stalled past the expiry) cannot overwrite the newer owner's progress.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from headrace.errors import ConflictError, NotFoundError, StoreError
from headrace.storage.records import (
    EntityStatus,
    RunRecord,
    ScheduleKind,
    ScheduleRecord,
    ScheduleTickRecord,
    StepRunRecord,
    TickOutcome,
)
from headrace.storage.sql import outbox, rows, runs
from headrace.storage.sql import tables as t
from headrace.storage.sql.session import SqlSession, translated

__all__ = ["ScheduleMethods"]

_s = t.schedules
_fires = t.schedule_fires
_files = t.schedule_files
_ticks = t.schedule_ticks
_FIELDS = tuple(f.name for f in dataclasses.fields(ScheduleRecord))
_UPDATABLE = frozenset(_FIELDS) - {"id", "kind", "created_at"}
_ACTIVE = EntityStatus.ACTIVE.value

_GET = select(_s).where(_s.c.id == bindparam("key"))
_INSERT = insert(_s)
_INSERT_TICK = insert(_ticks)
_INSERT_FILES = insert(_files)


@functools.cache
def _fire_insert(dialect: str):  # noqa: ANN202
    """INSERT ... ON CONFLICT DO NOTHING RETURNING run_id for ``dialect``, built on first use (importing
    the PostgreSQL dialect costs every SQLite user start-up time)."""
    insert_ = importlib.import_module(f"sqlalchemy.dialects.{dialect}").insert
    return insert_(_fires).on_conflict_do_nothing().returning(_fires.c.run_id)

_GET_FIRE = select(_fires.c.run_id).where(
    _fires.c.schedule_id == bindparam("schedule_id"), _fires.c.fire_key == bindparam("fire_key")
)
_NEXT_DUE = (
    select(_s.c.next_fire_at, _s.c.lease_expires_at)
    .where(_s.c.status == _ACTIVE, _s.c.next_fire_at.is_not(None))
    .order_by(_s.c.next_fire_at)
    .limit(64)
)
_LIST_FILES = select(_files.c.path, _files.c.version).where(_files.c.schedule_id == bindparam("key"))
_DELETE_FILE = delete(_files).where(_files.c.schedule_id == bindparam("b_id"), _files.c.path == bindparam("b_path"))
_UPDATE_FILE = (
    update(_files)
    .where(_files.c.schedule_id == bindparam("b_id"), _files.c.path == bindparam("b_path"))
    .values(version=bindparam("b_version"))
)


@functools.lru_cache(maxsize=64)
def _update_stmt(names: tuple[str, ...], with_owner: bool, bump_rev: bool) -> Any:
    """A cached UPDATE ... RETURNING of ``names`` (bound as ``v_<name>``), optionally conditional on
    the lease owner and bumping ``cursor_rev``."""
    stmt = update(_s).where(_s.c.id == bindparam("b_id"))
    if with_owner:
        stmt = stmt.where(_s.c.lease_owner == bindparam("b_owner"))
    values: dict[str, Any] = {n: bindparam(f"v_{n}") for n in names}
    if bump_rev:
        values["cursor_rev"] = _s.c.cursor_rev + 1
    return stmt.values(values).returning(*_s.c)


def schedule_record(row: Mapping[str, Any]) -> ScheduleRecord:
    values = dict(row)
    values["kind"] = ScheduleKind(values["kind"])
    values["status"] = EntityStatus(values["status"])
    return ScheduleRecord(**values)


def tick_record(row: Mapping[str, Any]) -> ScheduleTickRecord:
    values = dict(row)
    values["outcome"] = TickOutcome(values["outcome"])
    values["run_ids"] = list(values["run_ids"] or [])
    return ScheduleTickRecord(**values)


def _tick_row(tick: ScheduleTickRecord) -> dict[str, Any]:
    row = rows.as_row(tick)
    row["run_ids"] = list(tick.run_ids)
    return row


class ScheduleMethods(SqlSession):
    """The schedule methods of ``SqlMetadataStore`` (see ``MetadataStore`` for the contracts)."""

    @translated
    def create_schedule(
        self, record: ScheduleRecord, files: Mapping[str, str] | None = None
    ) -> ScheduleRecord:
        try:
            with self._write() as conn:
                conn.execute(_INSERT, rows.as_row(record))
                if files:
                    conn.execute(
                        _INSERT_FILES,
                        [{"schedule_id": record.id, "path": p, "version": v} for p, v in files.items()],
                    )
        except IntegrityError as exc:
            with self._read() as conn:
                if conn.execute(_GET, {"key": record.id}).first() is not None:
                    raise StoreError(f"schedule id {record.id} is taken") from exc
            target = record.published_pipeline_id or record.pipeline_endpoint_id or ""
            kind = "published pipeline" if record.published_pipeline_id else "pipeline endpoint"
            raise NotFoundError(kind, target) from exc
        return rows.in_utc(record)

    @translated
    def get_schedule(self, schedule_id: str) -> ScheduleRecord:
        with self._read() as conn:
            row = conn.execute(_GET, {"key": schedule_id}).mappings().first()
        if row is None:
            raise NotFoundError("schedule", schedule_id)
        return schedule_record(row)

    @translated
    def list_schedules(
        self,
        *,
        active_only: bool = False,
        published_pipeline_id: str | None = None,
        pipeline_endpoint_id: str | None = None,
    ) -> list[ScheduleRecord]:
        stmt = select(_s)
        if active_only:
            stmt = stmt.where(_s.c.status == _ACTIVE)
        if published_pipeline_id is not None:
            stmt = stmt.where(_s.c.published_pipeline_id == published_pipeline_id)
        if pipeline_endpoint_id is not None:
            stmt = stmt.where(_s.c.pipeline_endpoint_id == pipeline_endpoint_id)
        with self._read() as conn:
            result = conn.execute(stmt.order_by(_s.c.created_at.desc(), _s.c.id.desc())).mappings()
            return [schedule_record(row) for row in result]

    @translated
    def update_schedule(self, schedule_id: str, *, owner: str | None = None, **changes: Any) -> ScheduleRecord:
        values = rows.check_changes("schedule", changes, _UPDATABLE, EntityStatus)
        with self._write() as conn:
            record = self._update(conn, schedule_id, owner, values)
            outbox.schedule_events(conn, record, disabled=values.get("status") == EntityStatus.DISABLED.value)
            return record

    def _update(self, conn: Connection, schedule_id: str, owner: str | None, values: dict[str, Any],
                bump_rev: bool = False) -> ScheduleRecord:
        params = {f"v_{name}": value for name, value in values.items()}
        params["b_id"] = schedule_id
        if owner is not None:
            params["b_owner"] = owner
        stmt = _update_stmt(tuple(sorted(values)), owner is not None, bump_rev)
        row = conn.execute(stmt, params).mappings().first()
        if row is not None:
            return schedule_record(row)
        if conn.execute(_GET, {"key": schedule_id}).first() is None:
            raise NotFoundError("schedule", schedule_id)
        raise ConflictError(f"schedule {schedule_id}: {owner} no longer holds its lease")

    @translated
    def delete_schedule(self, schedule_id: str) -> None:
        with self._write() as conn:
            # Children first: SQLite only cascades with foreign keys on, and PostgreSQL needs no help.
            for table in (_fires, _files, _ticks):
                conn.execute(delete(table).where(table.c.schedule_id == schedule_id))
            if conn.execute(delete(_s).where(_s.c.id == schedule_id)).rowcount == 0:
                raise NotFoundError("schedule", schedule_id)

    @translated
    def claim_due_schedules(
        self, owner: str, *, now: datetime, lease_until: datetime, limit: int = 100
    ) -> list[ScheduleRecord]:
        due = (
            select(_s.c.id)
            .where(
                _s.c.status == _ACTIVE,
                _s.c.next_fire_at <= now,
                (_s.c.lease_expires_at.is_(None)) | (_s.c.lease_expires_at < now),
            )
            .order_by(_s.c.next_fire_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with self._write() as conn:
            ids = list(conn.execute(due).scalars())
            if not ids:
                return []
            stmt = (
                update(_s)
                .where(_s.c.id.in_(ids))
                .values(lease_owner=owner, lease_expires_at=lease_until)
                .returning(*_s.c)
            )
            claimed = [schedule_record(row) for row in conn.execute(stmt).mappings()]
        return sorted(claimed, key=lambda r: (r.next_fire_at, r.id))

    @translated
    def next_schedule_due(self) -> datetime | None:
        # Earliest slots first (index on status, next_fire_at); a leased schedule can be claimed
        # again only when its lease expires, so it counts from then. Looking at the first rows is
        # enough: callers re-ask after each pass and never sleep long.
        with self._read() as conn:
            found = conn.execute(_NEXT_DUE).all()
        times = [max(row.next_fire_at, row.lease_expires_at or row.next_fire_at) for row in found]
        return min(times) if times else None

    @translated
    def create_scheduled_run(
        self, run: RunRecord, steps: Sequence[StepRunRecord], *, fire_key: str
    ) -> tuple[RunRecord, bool]:
        if run.schedule_id is None:
            raise ValueError("create_scheduled_run needs a run whose schedule_id is set")
        runs.check_steps_belong(run, steps)
        key = {"schedule_id": run.schedule_id, "fire_key": fire_key}
        try:
            with self._write() as conn:
                inserted = conn.execute(
                    _fire_insert(conn.dialect.name), {**key, "run_id": run.id, "created_at": run.created_at}
                ).first()
                if inserted is not None:
                    runs.insert_run(conn, run, steps)
                    outbox.run_event(conn, run, created=True)
                    return rows.in_utc(run), True
                run_id = conn.execute(_GET_FIRE, key).scalar()
                existing = runs.get_run(conn, run_id) if run_id else None
        except IntegrityError as exc:
            with self._read() as conn:
                if conn.execute(_GET, {"key": run.schedule_id}).first() is None:
                    raise NotFoundError("schedule", run.schedule_id) from exc
                raise runs.explain_run_clash(conn, run, steps) from exc
        if existing is None:  # pragma: no cover - the fire's run is deleted with it
            raise StoreError(f"schedule fire {fire_key!r} names a missing run")
        return existing, False

    @translated
    def save_schedule_state(
        self,
        schedule_id: str,
        *,
        owner: str | None,
        changes: Mapping[str, Any],
        ticks: Sequence[ScheduleTickRecord] = (),
        files: tuple[Mapping[str, str], Iterable[str]] | None = None,
    ) -> ScheduleRecord:
        values = rows.check_changes("schedule", dict(changes), _UPDATABLE, EntityStatus)
        with self._write() as conn:
            record = self._update(conn, schedule_id, owner, values, bump_rev=files is not None)
            if files is not None:
                upserts, removes = files
                self._write_files(conn, schedule_id, upserts, removes)
            if ticks:
                conn.execute(_INSERT_TICK, [_tick_row(tick) for tick in ticks])
            outbox.schedule_events(conn, record, disabled=values.get("status") == EntityStatus.DISABLED.value,
                                   ticks=list(ticks))
        return record

    def _write_files(
        self, conn: Connection, schedule_id: str, upserts: Mapping[str, str], removes: Iterable[str]
    ) -> None:
        gone = [{"b_id": schedule_id, "b_path": p} for p in removes]
        if gone:
            conn.execute(_DELETE_FILE, gone)
        if not upserts:
            return
        known = set(
            conn.execute(
                select(_files.c.path).where(_files.c.schedule_id == schedule_id, _files.c.path.in_(list(upserts)))
            ).scalars()
        )
        changed = [{"b_id": schedule_id, "b_path": p, "b_version": v} for p, v in upserts.items() if p in known]
        new = [{"schedule_id": schedule_id, "path": p, "version": v} for p, v in upserts.items() if p not in known]
        if changed:
            conn.execute(_UPDATE_FILE, changed)
        if new:
            conn.execute(_INSERT_FILES, new)

    @translated
    def get_schedule_files(self, schedule_id: str) -> dict[str, str]:
        with self._read() as conn:
            return {row.path: row.version for row in conn.execute(_LIST_FILES, {"key": schedule_id})}

    @translated
    def add_schedule_ticks(self, ticks: Sequence[ScheduleTickRecord]) -> None:
        if ticks:
            with self._write() as conn:
                conn.execute(_INSERT_TICK, [_tick_row(tick) for tick in ticks])
                for schedule_id in dict.fromkeys(tick.schedule_id for tick in ticks):
                    row = conn.execute(_GET, {"key": schedule_id}).mappings().first()
                    if row is not None:
                        outbox.schedule_events(conn, schedule_record(row), disabled=False,
                                               ticks=[x for x in ticks if x.schedule_id == schedule_id])

    @translated
    def list_schedule_ticks(self, schedule_id: str, *, limit: int = 100) -> list[ScheduleTickRecord]:
        stmt = (
            select(_ticks)
            .where(_ticks.c.schedule_id == schedule_id)
            .order_by(_ticks.c.evaluated_at.desc(), _ticks.c.id.desc())
            .limit(limit)
        )
        with self._read() as conn:
            return [tick_record(row) for row in conn.execute(stmt).mappings()]

    @translated
    def prune_schedule_history(self, before: datetime) -> int:
        with self._write() as conn:
            ticks = conn.execute(delete(_ticks).where(_ticks.c.evaluated_at < before)).rowcount
            fires = conn.execute(delete(_fires).where(_fires.c.created_at < before)).rowcount
        return ticks + fires
