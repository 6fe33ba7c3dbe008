"""Webhook deliveries in the SQL store: each subscription's queue, in event order.

A delivery of a dispatched event gets ``seq``, its place in line: deliveries are numbered in the order
``mark_events_dispatched`` is given them (the outbox's order), after every one before. A subscription's
queue is its unfinished (pending or sending) deliveries by ``seq``. A claim takes, per subscription, a
run from the head of its queue: the head when it is due, then the ones after it while they are due
too; a subscription with a delivery in flight (sending, lease not expired) is passed over. So a later
event never goes out to a subscriber before an earlier one, and a delivery waiting to be retried
(backoff) holds up the ones behind it until it is delivered or dead. Test messages (``seq`` None,
``add_deliveries``) are outside the order: sent when due.

On PostgreSQL a claim locks the subscriptions' rows (``FOR NO KEY UPDATE SKIP LOCKED``: inserting
deliveries, which only reads the key, is not held up) before reading their queues again, so two
processes never claim from one queue at once; SQLite writers take turns anyway.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from headrace.errors import NotFoundError
from headrace.storage.event_records import DeliveryRecord, DeliveryStatus
from headrace.storage.sql import rows
from headrace.storage.sql import tables as t
from headrace.storage.sql.session import SqlSession, translated

__all__ = ["DeliveryMethods", "insert_queued"]

_d, _w = t.webhook_deliveries, t.webhooks
_FIELDS = tuple(f.name for f in dataclasses.fields(DeliveryRecord))
_UPDATABLE = frozenset(_FIELDS) - {"id", "webhook_id", "created_at", "seq"}
_PENDING, _SENDING = DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value
_INSERT = insert(_d)


def _row(d: DeliveryRecord) -> dict[str, Any]:
    row = {name: getattr(d, name) for name in _FIELDS}
    row["status"] = d.status.value
    return row


def _delivery(row: Mapping[str, Any]) -> DeliveryRecord:
    values = {name: row[name] for name in _FIELDS}
    values["status"] = DeliveryStatus(values["status"])
    return DeliveryRecord(**values)


def insert_queued(conn: Connection, deliveries: Sequence[DeliveryRecord]) -> None:
    """Insert ``deliveries`` at the end of their subscriptions' queues, in the order given."""
    if deliveries:
        last = conn.execute(select(func.max(_d.c.seq))).scalar() or 0
        conn.execute(_INSERT, [_row(d) | {"seq": last + n} for n, d in enumerate(deliveries, 1)])


def _due(now: datetime) -> Any:
    return or_((_d.c.status == _PENDING) & (_d.c.next_attempt_at <= now),
               (_d.c.status == _SENDING) & (_d.c.lease_expires_at < now))


def _is_due(row: Mapping[str, Any], now: datetime) -> bool:
    if row["status"] == _PENDING:
        return bool(row["next_attempt_at"] <= now)
    return row["status"] == _SENDING and row["lease_expires_at"] is not None and row["lease_expires_at"] < now


def _first(status: str) -> Any:
    return (select(func.min(_d.c.seq)).where(_d.c.webhook_id == _w.c.id, _d.c.status == status)
            .scalar_subquery())


# The first pending and the first sending delivery of every subscription: index lookups, whatever the backlog.
_FIRSTS = select(_w.c.id, _first(_PENDING), _first(_SENDING))


def _heads(conn: Connection, hooks: Any = None) -> dict[str, Mapping[str, Any]]:
    """The head of every non-empty queue (of ``hooks``, when given): webhook id -> its row."""
    stmt = _FIRSTS if hooks is None else _FIRSTS.where(_w.c.id.in_(hooks))
    seqs = [min(s for s in (pending, sending) if s is not None)
            for _, pending, sending in conn.execute(stmt) if pending is not None or sending is not None]
    if not seqs:
        return {}
    return {row["webhook_id"]: row for row in conn.execute(select(_d).where(_d.c.seq.in_(seqs))).mappings()}


def _in_flight(conn: Connection, now: datetime | None = None) -> set[str]:
    """Subscriptions with a queued delivery being sent (with ``now``: whose lease has not expired)."""
    stmt = select(_d.c.webhook_id).where(_d.c.status == _SENDING, _d.c.seq.is_not(None)).distinct()
    return set(conn.execute(stmt if now is None else stmt.where(_d.c.lease_expires_at >= now)).scalars())


def _queue(conn: Connection, head: Mapping[str, Any], size: int) -> list[Mapping[str, Any]]:
    """The first ``size`` unfinished deliveries of ``head``'s queue, in order."""
    found: list[Mapping[str, Any]] = []
    for status in (_PENDING, _SENDING):
        found += conn.execute(select(_d).where(_d.c.webhook_id == head["webhook_id"], _d.c.status == status,
                                               _d.c.seq >= head["seq"]).order_by(_d.c.seq).limit(size)).mappings()
    return sorted(found, key=lambda row: row["seq"])[:size]


def _claim_runs(conn: Connection, now: datetime, limit: int) -> list[Mapping[str, Any]]:
    """The rows of the runs to claim, each run in queue order, the runs oldest head first."""
    busy = _in_flight(conn, now)
    due = sorted((r for hook, r in _heads(conn).items() if hook not in busy and _is_due(r, now)),
                 key=lambda row: row["seq"])[:limit]
    if not due:
        return []
    locked = list(conn.execute(select(_w.c.id).where(_w.c.id.in_([r["webhook_id"] for r in due]))
                               .with_for_update(skip_locked=True, key_share=True)).scalars())
    # Read again under the lock: another claimer may have taken a queue since.
    busy = _in_flight(conn, now)
    heads = sorted((r for hook, r in _heads(conn, locked).items() if hook not in busy and _is_due(r, now)),
                   key=lambda row: row["seq"])
    picked: list[Mapping[str, Any]] = []
    for head in heads:
        for row in _queue(conn, head, max(1, limit // len(heads))):  # a run ends at the first one not due
            if not _is_due(row, now):
                break
            picked.append(row)
    return picked


class DeliveryMethods(SqlSession):
    """The delivery methods of ``SqlMetadataStore`` (see ``EventStore`` for the contracts)."""

    @translated
    def add_deliveries(self, deliveries: Sequence[DeliveryRecord]) -> None:
        if not deliveries:
            return
        try:
            with self._write() as conn:
                conn.execute(_INSERT, [_row(d) | {"seq": None} for d in deliveries])
        except IntegrityError as exc:
            raise NotFoundError("webhook", ", ".join(sorted({d.webhook_id for d in deliveries}))) from exc

    @translated
    def claim_deliveries(self, owner: str, *, now: datetime, lease_until: datetime,
                         limit: int = 100) -> list[DeliveryRecord]:
        with self._write() as conn:
            picked = _claim_runs(conn, now, limit)
            if len(picked) < limit:
                # No ORDER BY: the few test messages are found through the seq index, not among the queued.
                loose = (select(_d).where(_d.c.seq.is_(None), _due(now)).limit(limit - len(picked))
                         .with_for_update(skip_locked=True))
                picked += list(conn.execute(loose).mappings())
            if not picked:
                return []
            # A run's head (and a loose message) is attempted at once; the rest get their time when sent.
            first = [r["id"] for n, r in enumerate(picked)
                     if r["seq"] is None or n == 0 or picked[n - 1]["webhook_id"] != r["webhook_id"]]
            conn.execute(update(_d).where(_d.c.id.in_([r["id"] for r in picked])).values(
                status=_SENDING, lease_owner=owner, lease_expires_at=lease_until, attempts=_d.c.attempts + 1))
            conn.execute(update(_d).where(_d.c.id.in_(first)).values(last_attempt_at=now))
        firsts = set(first)
        return [dataclasses.replace(_delivery(r), status=DeliveryStatus.SENDING, lease_owner=owner,
                                    lease_expires_at=lease_until, attempts=r["attempts"] + 1,
                                    last_attempt_at=now if r["id"] in firsts else r["last_attempt_at"])
                for r in picked]

    @translated
    def update_delivery(self, delivery_id: str, /, **changes: Any) -> DeliveryRecord:
        values = rows.check_changes("delivery", changes, _UPDATABLE, DeliveryStatus)
        with self._write() as conn:
            row = rows.update_by_id(conn, _d, delivery_id, values)
        if row is None:
            raise NotFoundError("delivery", delivery_id)
        return _delivery(row)

    @translated
    def update_deliveries(self, changes: Sequence[tuple[str, dict[str, Any]]]) -> None:
        checked = [(key, rows.check_changes("delivery", values, _UPDATABLE, DeliveryStatus))
                   for key, values in changes]
        # One executemany per shape of change (a batch has a few: delivered, retried, dead, not sent).
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
                .order_by(_d.c.created_at.desc(), _d.c.seq.desc(), _d.c.id.desc()).limit(limit))
        with self._read() as conn:
            return [_delivery(row) for row in conn.execute(stmt).mappings()]

    @translated
    def requeue_deliveries(self, now: datetime) -> int:
        with self._write() as conn:
            return conn.execute(update(_d).where(_d.c.status == _SENDING).values(
                status=_PENDING, next_attempt_at=now, lease_owner=None, lease_expires_at=None)).rowcount

    @translated
    def next_delivery_due(self) -> datetime | None:
        loose = select(func.min(_d.c.next_attempt_at)).where(_d.c.seq.is_(None), _d.c.status == _PENDING)
        with self._read() as conn:
            busy = _in_flight(conn)
            found = [r["next_attempt_at"] for hook, r in _heads(conn).items()
                     if r["status"] == _PENDING and hook not in busy]
            found.append(conn.execute(loose).scalar())
        return min((f for f in found if f is not None), default=None)

    @translated
    def has_open_deliveries(self) -> bool:
        stmt = select(_d.c.id).where(_d.c.status.in_([_PENDING, _SENDING])).limit(1)
        with self._read() as conn:
            return conn.execute(stmt).first() is not None

    @translated
    def count_deliveries(self, status: str | None = None) -> int:
        stmt = select(func.count()).select_from(_d)
        if status is not None:
            stmt = stmt.where(_d.c.status == DeliveryStatus(status).value)
        with self._read() as conn:
            return int(conn.execute(stmt).scalar() or 0)
