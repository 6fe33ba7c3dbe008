"""The events outbox, webhook subscriptions, deliveries and triggers in the SQL store.

Claims (``claim_deliveries``) take rows with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, as schedules
do; SQLite writers take turns on its write lock. A trigger's fire is exactly-once the way a
schedule's is: the ``trigger_fires`` row (trigger, fire key = event id) goes in first, with
``ON CONFLICT DO NOTHING``, in the run's transaction.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, Select, Table, bindparam, delete, func, insert, or_, select, update
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
from headrace.storage.sql import outbox, rows, runs
from headrace.storage.sql import tables as t
from headrace.storage.sql.session import SqlSession, translated

__all__ = ["EventMethods"]

_e, _w, _d, _tr, _fires, _ticks = (t.events, t.webhooks, t.webhook_deliveries, t.triggers, t.trigger_fires,
                                   t.trigger_ticks)
_WEBHOOK_UPDATABLE = frozenset(f.name for f in dataclasses.fields(WebhookRecord)) - {"id", "created_at"}
_TRIGGER_UPDATABLE = frozenset(f.name for f in dataclasses.fields(TriggerRecord)) - {"id", "created_at"}
_DELIVERY_UPDATABLE = frozenset(f.name for f in dataclasses.fields(DeliveryRecord)) - {"id", "webhook_id",
                                                                                         "created_at"}
_PENDING, _SENDING = DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value
_INSERT_DELIVERIES = insert(_d)


@functools.cache
def _fire_insert(dialect: str):  # noqa: ANN202
    insert_ = importlib.import_module(f"sqlalchemy.dialects.{dialect}").insert
    return insert_(_fires).on_conflict_do_nothing().returning(_fires.c.run_id)


def _listing(table: Table, active_only: bool) -> Select[Any]:
    """All rows of ``table`` by name, or only the Active ones."""
    stmt = select(table).order_by(table.c.name)
    return stmt.where(table.c.status == EntityStatus.ACTIVE.value) if active_only else stmt


_DELIVERY_FIELDS = tuple(f.name for f in dataclasses.fields(DeliveryRecord))


def _delivery_row(d: DeliveryRecord) -> dict[str, Any]:
    row = {name: getattr(d, name) for name in _DELIVERY_FIELDS}
    row["status"] = d.status.value
    return row


def _event(row: Mapping[str, Any]) -> EventRecord:
    return EventRecord(**dict(row))


def _webhook(row: Mapping[str, Any]) -> WebhookRecord:
    values = dict(row)
    values["status"] = EntityStatus(values["status"])
    return WebhookRecord(**values)


def _delivery(row: Mapping[str, Any]) -> DeliveryRecord:
    values = dict(row)
    values["status"] = DeliveryStatus(values["status"])
    return DeliveryRecord(**values)


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
            if deliveries:
                conn.execute(_INSERT_DELIVERIES, [_delivery_row(d) for d in deliveries])

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

    # -- deliveries ----------------------------------------------------------------------
    @translated
    def add_deliveries(self, deliveries: Sequence[DeliveryRecord]) -> None:
        if not deliveries:
            return
        try:
            with self._write() as conn:
                conn.execute(_INSERT_DELIVERIES, [_delivery_row(d) for d in deliveries])
        except IntegrityError as exc:
            raise NotFoundError("webhook", ", ".join(sorted({d.webhook_id for d in deliveries}))) from exc

    @translated
    def claim_deliveries(self, owner: str, *, now: datetime, lease_until: datetime,
                         limit: int = 100) -> list[DeliveryRecord]:
        due = (
            select(_d.c.id)
            .where(or_((_d.c.status == _PENDING) & (_d.c.next_attempt_at <= now),
                       (_d.c.status == _SENDING) & (_d.c.lease_expires_at < now)))
            .order_by(_d.c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with self._write() as conn:
            ids = list(conn.execute(due).scalars())
            if not ids:
                return []
            stmt = (update(_d).where(_d.c.id.in_(ids))
                    .values(status=_SENDING, lease_owner=owner, lease_expires_at=lease_until,
                            attempts=_d.c.attempts + 1, last_attempt_at=now)
                    .returning(*_d.c))
            claimed = [_delivery(row) for row in conn.execute(stmt).mappings()]
        return sorted(claimed, key=lambda d: (d.next_attempt_at, d.id))

    @translated
    def update_delivery(self, delivery_id: str, /, **changes: Any) -> DeliveryRecord:
        values = rows.check_changes("delivery", changes, _DELIVERY_UPDATABLE, DeliveryStatus)
        with self._write() as conn:
            row = rows.update_by_id(conn, _d, delivery_id, values)
        if row is None:
            raise NotFoundError("delivery", delivery_id)
        return _delivery(row)

    @translated
    def update_deliveries(self, changes: Sequence[tuple[str, dict[str, Any]]]) -> None:
        checked = [(key, rows.check_changes("delivery", values, _DELIVERY_UPDATABLE, DeliveryStatus))
                   for key, values in changes]
        # One executemany per shape of change (a batch has two or three: delivered, retried, dead).
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for key, values in checked:
            shapes.setdefault(tuple(sorted(values)), []).append(
                {"b_id": key, **{f"v_{name}": value for name, value in values.items()}})
        if shapes:
            with self._write() as conn:
                for names, params in shapes.items():
                    stmt = update(_d).where(_d.c.id == bindparam("b_id")).values(
                        {name: bindparam(f"v_{name}") for name in names})
                    conn.execute(stmt, params)

    @translated
    def get_delivery(self, delivery_id: str) -> DeliveryRecord:
        with self._read() as conn:
            row = conn.execute(select(_d).where(_d.c.id == delivery_id)).mappings().first()
        if row is None:
            raise NotFoundError("delivery", delivery_id)
        return _delivery(row)

    @translated
    def list_deliveries(self, webhook_id: str, *, limit: int = 100) -> list[DeliveryRecord]:
        stmt = (select(_d).where(_d.c.webhook_id == webhook_id)
                .order_by(_d.c.created_at.desc(), _d.c.id.desc()).limit(limit))
        with self._read() as conn:
            return [_delivery(row) for row in conn.execute(stmt).mappings()]

    @translated
    def requeue_deliveries(self, now: datetime) -> int:
        with self._write() as conn:
            return conn.execute(update(_d).where(_d.c.status == _SENDING).values(
                status=_PENDING, next_attempt_at=now, lease_owner=None, lease_expires_at=None)).rowcount

    @translated
    def next_delivery_due(self) -> datetime | None:
        stmt = select(_d.c.next_attempt_at).where(_d.c.status == _PENDING).order_by(_d.c.next_attempt_at).limit(1)
        with self._read() as conn:
            return conn.execute(stmt).scalar()

    @translated
    def count_deliveries(self, status: str | None = None) -> int:
        stmt = select(func.count()).select_from(_d)
        if status is not None:
            stmt = stmt.where(_d.c.status == DeliveryStatus(status).value)
        with self._read() as conn:
            return int(conn.execute(stmt).scalar() or 0)

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

