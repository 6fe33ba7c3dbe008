"""Statements on pipeline runs and step runs, each run inside a transaction the store opens.

Every function takes an open ``Connection``; committing, locking and error translation are the
store's job (``store.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Connection, Table, and_, func, insert, literal, or_, select, update

from headrace.errors import ConflictError, NotFoundError
from headrace.storage.records import RunRecord, RunStatus, StepRunRecord, StepStatus
from headrace.storage.sql import rows
from headrace.storage.sql import tables as t

_runs = t.pipeline_runs
_steps = t.step_runs


def insert_run(conn: Connection, run: RunRecord, steps: Sequence[StepRunRecord]) -> None:
    conn.execute(insert(_runs), rows.as_row(run))
    if steps:
        # One executemany; ``position`` keeps the caller's (topological) order.
        conn.execute(insert(_steps), [rows.as_row(step) | {"position": i} for i, step in enumerate(steps)])


def get_run(conn: Connection, run_id: str) -> RunRecord | None:
    row = conn.execute(select(*rows.RUN_COLUMNS).where(_runs.c.id == run_id)).mappings().first()
    return rows.run_record(row) if row else None


def list_runs(
    conn: Connection,
    *,
    experiment_name: str | None,
    statuses: list[str] | None,
    pipeline_id: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[RunRecord], str | None]:
    stmt = select(*rows.RUN_COLUMNS)
    if experiment_name is not None:
        stmt = stmt.where(_runs.c.experiment_name == experiment_name)
    if statuses is not None:
        stmt = stmt.where(_runs.c.status.in_(statuses))
    if pipeline_id is not None:
        stmt = stmt.where(_runs.c.pipeline_id == pipeline_id)
    if cursor is not None:
        after_at, after_id = rows.decode_cursor(cursor)
        stmt = stmt.where(
            or_(_runs.c.created_at < after_at, and_(_runs.c.created_at == after_at, _runs.c.id < after_id))
        )
    stmt = stmt.order_by(_runs.c.created_at.desc(), _runs.c.id.desc()).limit(limit + 1)
    page = [rows.run_record(row) for row in conn.execute(stmt).mappings()]
    if len(page) <= limit:
        return page, None
    page = page[:limit]
    return page, rows.encode_cursor(page[-1].created_at, page[-1].id)


def update_checked(
    conn: Connection,
    *,
    kind: str,
    table: Table,
    columns: list[Column[Any]],
    key: str,
    expect: list[str] | None,
    values: dict[str, Any],
) -> Any:
    """Update the row ``key`` if its status is in ``expect`` (any status when None); return the new row.

    Raises:
        NotFoundError: no such row.
        ConflictError: the row's status is not in ``expect``.
    """
    where = [table.c.id == key]
    if expect is not None:
        where.append(table.c.status.in_(expect))
    if values:
        stmt: Any = update(table).where(*where).values(values).returning(*columns)
    else:
        stmt = select(*columns).where(*where)
    row = conn.execute(stmt).mappings().first()
    if row is not None:
        return row
    current = conn.execute(select(table.c.status).where(table.c.id == key)).scalar()
    if current is None:
        raise NotFoundError(kind, key)
    wanted = " or ".join(expect or []) or "(none)"
    raise ConflictError(f"{kind} {key} is {current}, not {wanted}; reload it and decide again")


def claim(
    conn: Connection, *, agent_id: str, lease_until: datetime, run_id: str | None, now: datetime
) -> RunRecord | None:
    """Move one Queued run to Running. The caller's transaction must be a write transaction.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED`` lets concurrent agents pick different runs without
    waiting. SQLite ignores the clause; there the write transaction already serialises claimers.
    The update re-checks the status either way, so a run can only be claimed once.
    """
    pick = select(_runs.c.id).where(_runs.c.status == RunStatus.QUEUED.value)
    if run_id is not None:
        pick = pick.where(_runs.c.id == run_id)
    pick = pick.order_by(_runs.c.created_at, _runs.c.id).limit(1).with_for_update(skip_locked=True)
    candidate = conn.execute(pick).scalar()
    if candidate is None:
        return None
    stmt = (
        update(_runs)
        .where(_runs.c.id == candidate, _runs.c.status == RunStatus.QUEUED.value)
        .values(
            status=RunStatus.RUNNING.value,
            agent_id=agent_id,
            lease_expires_at=lease_until,
            attempt=_runs.c.attempt + 1,
            started_at=func.coalesce(_runs.c.started_at, literal(now, t.UTCDateTime())),
        )
        .returning(*rows.RUN_COLUMNS)
    )
    row = conn.execute(stmt).mappings().first()
    return rows.run_record(row) if row else None


def renew_leases(conn: Connection, *, agent_id: str, lease_until: datetime) -> int:
    stmt = (
        update(_runs)
        .where(_runs.c.agent_id == agent_id, _runs.c.status == RunStatus.RUNNING.value)
        .values(lease_expires_at=lease_until)
    )
    return conn.execute(stmt).rowcount


def list_step_runs(conn: Connection, run_id: str) -> list[StepRunRecord]:
    stmt = select(*rows.STEP_COLUMNS).where(_steps.c.run_id == run_id).order_by(_steps.c.position)
    return [rows.step_record(row) for row in conn.execute(stmt).mappings()]


def get_step_run(conn: Connection, step_run_id: str) -> StepRunRecord | None:
    row = conn.execute(select(*rows.STEP_COLUMNS).where(_steps.c.id == step_run_id)).mappings().first()
    return rows.step_record(row) if row else None


def find_reusable(conn: Connection, reuse_key: str) -> StepRunRecord | None:
    stmt = (
        select(*rows.STEP_COLUMNS)
        .where(_steps.c.reuse_key == reuse_key, _steps.c.status == StepStatus.FINISHED.value)
        .order_by(_steps.c.created_at.desc(), _steps.c.position.desc(), _steps.c.id.desc())
        .limit(1)
    )
    row = conn.execute(stmt).mappings().first()
    return rows.step_record(row) if row else None


def existing_ids(conn: Connection, table: Table, ids: set[str]) -> set[str]:
    if not ids:
        return set()
    return set(conn.execute(select(table.c.id).where(table.c.id.in_(ids))).scalars())
