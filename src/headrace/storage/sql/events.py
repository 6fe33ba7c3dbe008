"""The events outbox, webhook subscriptions and triggers in the SQL store (deliveries: ``deliveries.py``).

A trigger's fire is exactly-once the way a schedule's is: the ``trigger_fires`` row (trigger, fire key =
event id) goes in first, with ``ON CONFLICT DO NOTHING``, in the run's transaction.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, Select, Table, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from headrace.errors import AlreadyExistsError, ConflictError, NotFoundError, StoreError
from headrace.storage.event_records import (
    DeliveryRecord,
    DeliveryStatus,
    EventRecord,
    TriggerRecord,
    TriggerTickRecord,
    WebhookRecord,
)
from headrace.storage.records import EntityStatus, RunRecord, StepRunRecord
from headrace.storage.sql import deliveries as deliveries_sql
from headrace.storage.sql import outbox, rows, runs
from headrace.storage.sql import tables as t
from headrace.storage.sql.session import SqlSession, translated

__all__ = ["EventMethods"]

_e, _w, _d, _tr, _fires, _ticks = (t.events, t.webhooks, t.webhook_deliveries, t.triggers, t.trigger_fires,
                                   t.trigger_ticks)
_WEBHOOK_UPDATABLE = frozenset(f.name for f in dataclasses.fields(WebhookRecord)) - {"id", "created_at"}
_TRIGGER_UPDATABLE = frozenset(f.name for f in dataclasses.fields(TriggerRecord)) - {"id", "created_at"}


@functools.cache
def _fire_insert(dialect: str):  # noqa: ANN202
    insert_ = importlib.import_module(f"sqlalchemy.dialects.{dialect}").insert
    return insert_(_fires).on_conflict_do_nothing().returning(_fires.c.run_id)


def _listing(table: Table, active_only: bool) -> Select[Any]:
    """All rows of ``table`` by name, or only the Active ones."""
    stmt = select(table).order_by(table.c.name)
    return stmt.where(table.c.status == EntityStatus.ACTIVE.value) if active_only else stmt


def _event(row: Mapping[str, Any]) -> EventRecord:
    return EventRecord(**dict(row))


def _webhook(row: Mapping[str, Any]) -> WebhookRecord:
    values = dict(row)
    values["status"] = EntityStatus(values["status"])
    return WebhookRecord(**values)


def _trigger(row: Mapping[str, Any]) -> TriggerRecord:
    values = dict(row)
    values["status"] = EntityStatus(values["status"])
    return TriggerRecord(**values)


def _tick(row: Mapping[str, Any]) -> TriggerTickRecord:
    values = dict(row)
    values["run_ids"] = list(values["run_ids"] or [])
    return TriggerTickRecord(**values)


class EventMethods(SqlSession):
    """The event methods of ``SqlMetadataStore`` (see ``EventStore`` for the contracts)."""

    # -- the outbox ----------------------------------------------------------------------
    @translated
    def add_events(self, events: Sequence[EventRecord]) -> None:
        if events:
            with self._write() as conn:
                conn.execute(insert(_e), [{k: v for k, v in rows.as_row(e).items() if k != "seq"} for e in events])

    @translated
    def list_pending_events(self, limit: int = 100) -> list[EventRecord]:
        stmt = select(_e).where(_e.c.dispatched_at.is_(None)).order_by(_e.c.seq).limit(limit)
        with self._read() as conn:
            return [_event(row) for row in conn.execute(stmt).mappings()]

    @translated
    def list_events(self, *, type: str | None = None, limit: int = 100) -> list[EventRecord]:
        stmt = select(_e)
        if type is not None:
            stmt = stmt.where(_e.c.type == type)
        with self._read() as conn:
            return [_event(row) for row in conn.execute(stmt.order_by(_e.c.seq.desc()).limit(limit)).mappings()]

    @translated
    def mark_events_dispatched(self, event_ids: Sequence[str], deliveries: Sequence[DeliveryRecord],
                               at: datetime) -> None:
        ids = list(dict.fromkeys(event_ids))
        with self._write() as conn:
            done = conn.execute(update(_e).where(_e.c.id.in_(ids), _e.c.dispatched_at.is_(None))
                                .values(dispatched_at=at)).rowcount
            if done != len(ids):
                raise ConflictError(f"{len(ids) - done} of {len(ids)} event(s) were dispatched meanwhile")
            deliveries_sql.insert_queued(conn, deliveries)

    @translated
    def prune_events(self, before: datetime) -> int:
        finished = [DeliveryStatus.DELIVERED.value, DeliveryStatus.DEAD.value]
        with self._write() as conn:
            n = conn.execute(delete(_e).where(_e.c.dispatched_at.is_not(None), _e.c.created_at < before)).rowcount
            n += conn.execute(delete(_d).where(_d.c.status.in_(finished), _d.c.created_at < before)).rowcount
            n += conn.execute(delete(_ticks).where(_ticks.c.evaluated_at < before)).rowcount
        return n

    # -- webhooks ------------------------------------------------------------------------
    @translated
    def create_webhook(self, record: WebhookRecord) -> WebhookRecord:
        try:
            with self._write() as conn:
                conn.execute(insert(_w), rows.as_row(record))
        except IntegrityError as exc:
            raise AlreadyExistsError("webhook", record.name, "pick another name or delete it first") from exc
        return rows.in_utc(record)

    @translated
    def get_webhook(self, webhook_id: str) -> WebhookRecord:
        return _webhook(self._get_by_id_or_name(_w, "webhook", webhook_id))

    @translated
    def list_webhooks(self, *, active_only: bool = False) -> list[WebhookRecord]:
        with self._read() as conn:
            return [_webhook(row) for row in conn.execute(_listing(_w, active_only)).mappings()]

    @translated
    def update_webhook(self, webhook_id: str, /, **changes: Any) -> WebhookRecord:
        return _webhook(self._update_checked(_w, "webhook", webhook_id, changes, _WEBHOOK_UPDATABLE))

    @translated
    def delete_webhook(self, webhook_id: str) -> None:
        with self._write() as conn:
            conn.execute(delete(_d).where(_d.c.webhook_id == webhook_id))
            if conn.execute(delete(_w).where(_w.c.id == webhook_id)).rowcount == 0:
                raise NotFoundError("webhook", webhook_id)

    # -- triggers ------------------------------------------------------------------------
    @translated
    def create_trigger(self, record: TriggerRecord) -> TriggerRecord:
        try:
            with self._write() as conn:
                conn.execute(insert(_tr), rows.as_row(record))
        except IntegrityError as exc:
            with self._read() as conn:
                if conn.execute(select(_tr.c.id).where(_tr.c.name == record.name)).first() is not None:
                    raise AlreadyExistsError("trigger", record.name, "pick another name or delete it first") from exc
            target = record.published_pipeline_id or record.pipeline_endpoint_id or ""
            kind = "published pipeline" if record.published_pipeline_id else "pipeline endpoint"
            raise NotFoundError(kind, target) from exc
        return rows.in_utc(record)

    @translated
    def get_trigger(self, trigger_id: str) -> TriggerRecord:
        return _trigger(self._get_by_id_or_name(_tr, "trigger", trigger_id))

    @translated
    def list_triggers(self, *, active_only: bool = False, event: str | None = None) -> list[TriggerRecord]:
        stmt = _listing(_tr, active_only)
        if event is not None:
            stmt = stmt.where(_tr.c.event == event)
        with self._read() as conn:
            return [_trigger(row) for row in conn.execute(stmt).mappings()]

    @translated
    def update_trigger(self, trigger_id: str, /, **changes: Any) -> TriggerRecord:
        return _trigger(self._update_checked(_tr, "trigger", trigger_id, changes, _TRIGGER_UPDATABLE))

    # -- shared by webhooks and triggers ---------------------------------------------------
    def _get_by_id_or_name(self, table: Table, what: str, key: str) -> RowMapping:
        """The row whose id is ``key``, else the one named ``key`` (an id wins over a name)."""
        with self._read() as conn:
            row = conn.execute(select(table).where(or_(table.c.id == key, table.c.name == key))
                               .order_by((table.c.id == key).desc()).limit(1)).mappings().first()
        if row is None:
            raise NotFoundError(what, key)
        return row

    def _update_checked(self, table: Table, what: str, key: str, changes: dict[str, Any],
                        updatable: frozenset[str]) -> RowMapping:
        values = rows.check_changes(what, changes, updatable, EntityStatus)
        with self._write() as conn:
            row = rows.update_by_id(conn, table, key, values)
        if row is None:
            raise NotFoundError(what, key)
        return row

    @translated
    def delete_trigger(self, trigger_id: str) -> None:
        with self._write() as conn:
            for table in (_fires, _ticks):
                conn.execute(delete(table).where(table.c.trigger_id == trigger_id))
            if conn.execute(delete(_tr).where(_tr.c.id == trigger_id)).rowcount == 0:
                raise NotFoundError("trigger", trigger_id)

    @translated
    def create_triggered_run(self, run: RunRecord, steps: Sequence[StepRunRecord], *, trigger_id: str,
                             fire_key: str, tick: TriggerTickRecord | None = None) -> tuple[RunRecord, bool]:
        runs.check_steps_belong(run, steps)
        key = {"trigger_id": trigger_id, "fire_key": fire_key}
        try:
            with self._write() as conn:
                inserted = conn.execute(_fire_insert(conn.dialect.name),
                                        {**key, "run_id": run.id, "created_at": run.created_at}).first()
                if inserted is not None:
                    runs.insert_run(conn, run, steps)
                    outbox.run_event(conn, run, created=True)
                    if tick is not None:
                        conn.execute(insert(_ticks), rows.as_row(tick) | {"run_ids": list(tick.run_ids)})
                    return rows.in_utc(run), True
                run_id = conn.execute(select(_fires.c.run_id).where(_fires.c.trigger_id == trigger_id,
                                                                    _fires.c.fire_key == fire_key)).scalar()
                existing = runs.get_run(conn, run_id) if run_id else None
        except IntegrityError as exc:
            with self._read() as conn:
                if conn.execute(select(_tr.c.id).where(_tr.c.id == trigger_id)).first() is None:
                    raise NotFoundError("trigger", trigger_id) from exc
                raise runs.explain_run_clash(conn, run, steps) from exc
        if existing is None:  # pragma: no cover - the fire's run is deleted with it
            raise StoreError(f"trigger fire {fire_key!r} names a missing run")
        return existing, False

    @translated
    def add_trigger_ticks(self, ticks: Sequence[TriggerTickRecord]) -> None:
        if ticks:
            with self._write() as conn:
                conn.execute(insert(_ticks), [rows.as_row(tick) | {"run_ids": list(tick.run_ids)} for tick in ticks])

    @translated
    def list_trigger_ticks(self, trigger_id: str, *, limit: int = 100) -> list[TriggerTickRecord]:
        stmt = (select(_ticks).where(_ticks.c.trigger_id == trigger_id)
                .order_by(_ticks.c.evaluated_at.desc(), _ticks.c.id.desc()).limit(limit))
        with self._read() as conn:
            return [_tick(row) for row in conn.execute(stmt).mappings()]

