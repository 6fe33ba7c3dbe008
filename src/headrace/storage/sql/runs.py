"""Statements on pipeline runs and step runs, each run inside a transaction the store opens.

Every function takes an open ``Connection``; committing, locking and error translation are the
store's job (``store.py``). Hot statements are built once with bound parameters: on SQLite,
building and cache-keying a Core statement costs more than executing it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Dialect, Table, and_, bindparam, func, insert, or_, select, update

from headrace.errors import AlreadyExistsError, ConflictError, HeadraceError, NotFoundError, StoreError
from headrace.storage.records import MetricRecord, RunRecord, RunStatus, StepRunRecord, StepStatus
from headrace.storage.sql import rows
from headrace.storage.sql import tables as t
from headrace.storage.sql.session import store_error

_runs = t.pipeline_runs
_steps = t.step_runs
_QUEUED = RunStatus.QUEUED.value

_INSERT_RUN = insert(_runs)
_INSERT_STEPS = insert(_steps)
_GET_RUN = select(*rows.RUN_COLUMNS).where(_runs.c.id == bindparam("key"))
_GET_STEP = select(*rows.STEP_COLUMNS).where(_steps.c.id == bindparam("key"))
_LIST_STEPS = (
    select(*rows.STEP_COLUMNS).where(_steps.c.run_id == bindparam("run_id")).order_by(_steps.c.position)
)
_FIND_REUSABLE = (
    select(*rows.STEP_COLUMNS)
    .where(_steps.c.reuse_key == bindparam("reuse_key"), _steps.c.status == StepStatus.FINISHED.value)
    .order_by(_steps.c.created_at.desc(), _steps.c.position.desc(), _steps.c.id.desc())
    .limit(1)
)
_RENEW = (
    update(_runs)
    .where(_runs.c.agent_id == bindparam("b_agent_id"), _runs.c.status == RunStatus.RUNNING.value)
    .values(lease_expires_at=bindparam("b_lease_until"))
)
# Bound names never equal a column name (SQLAlchemy reserves those in UPDATE): hence ``b_``/``v_``.
# Candidates oldest first. PostgreSQL: SKIP LOCKED lets concurrent agents take different runs
# without waiting. SQLite ignores the clause; its write transaction already serialises claimers.
_PICK_OLDEST = (
    select(_runs.c.id)
    .where(_runs.c.status == _QUEUED)
    .order_by(_runs.c.created_at, _runs.c.id)
    .limit(1)
    .with_for_update(skip_locked=True)
)
_PICK_BY_ID = _PICK_OLDEST.where(_runs.c.id == bindparam("key"))
# The status is checked again here, so a run can only ever be claimed once.
_CLAIM = (
    update(_runs)
    .where(_runs.c.id == bindparam("key"), _runs.c.status == _QUEUED)
    .values(
        status=RunStatus.RUNNING.value,
        agent_id=bindparam("b_agent_id"),
        lease_expires_at=bindparam("b_lease_until"),
        attempt=_runs.c.attempt + 1,
        started_at=func.coalesce(_runs.c.started_at, bindparam("b_now", type_=t.UTCDateTime())),
    )
    .returning(*rows.RUN_COLUMNS)
)
# Orphan recovery: only from the owner and attempt the recovering agent saw (None-safe comparison).
_TAKE_OVER = (
    update(_runs)
    .where(
        _runs.c.id == bindparam("key"),
        _runs.c.status == RunStatus.RUNNING.value,
        _runs.c.agent_id.is_not_distinct_from(bindparam("b_owner", type_=_runs.c.agent_id.type)),
        _runs.c.attempt == bindparam("b_attempt"),
    )
    .values(agent_id=bindparam("b_agent_id"), lease_expires_at=bindparam("b_lease_until"))
    .returning(*rows.RUN_COLUMNS)
)
_RECORD_COLUMNS = {_runs.name: rows.RUN_COLUMNS, _steps.name: rows.STEP_COLUMNS}


def check_steps_belong(run: RunRecord, steps: Sequence[StepRunRecord]) -> None:
    """Raises: ValueError when a step run belongs to another run."""
    strays = [step.id for step in steps if step.run_id != run.id]
    if strays:
        raise ValueError(f"step run(s) {', '.join(strays)} do not belong to run {run.id}")


def insert_run(conn: Connection, run: RunRecord, steps: Sequence[StepRunRecord]) -> None:
    conn.execute(_INSERT_RUN, rows.as_row(run))
    if steps:
        # One executemany; ``position`` keeps the caller's (topological) order.
        conn.execute(_INSERT_STEPS, [rows.as_row(step) | {"position": i} for i, step in enumerate(steps)])


def get_run(conn: Connection, run_id: str) -> RunRecord | None:
    row = conn.execute(_GET_RUN, {"key": run_id}).mappings().first()
    return rows.run_record(row) if row else None


def list_runs(
    conn: Connection,
    *,
    experiment_name: str | None,
    statuses: list[str] | None,
    pipeline_id: str | None,
    published_pipeline_id: str | None,
    pipeline_endpoint_id: str | None,
    schedule_id: str | None,
    parent_run_id: str | None = None,
    limit: int,
    cursor: str | None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    tags: Mapping[str, str] | None = None,
) -> tuple[list[RunRecord], str | None]:
    stmt = select(*rows.RUN_COLUMNS)
    for key, value in (tags or {}).items():  # JSON_EXTRACT on SQLite, ->> on PostgreSQL
        stmt = stmt.where(_runs.c.tags[key].as_string() == value)
    if created_after is not None:
        stmt = stmt.where(_runs.c.created_at >= created_after)
    if created_before is not None:
        stmt = stmt.where(_runs.c.created_at <= created_before)
    if statuses is not None:
        stmt = stmt.where(_runs.c.status.in_(statuses))
    equal = {
        "experiment_name": experiment_name,
        "pipeline_id": pipeline_id,
        "published_pipeline_id": published_pipeline_id,
        "pipeline_endpoint_id": pipeline_endpoint_id,
        "schedule_id": schedule_id,
        "parent_run_id": parent_run_id,
    }
    for name, value in equal.items():
        if value is not None:
            stmt = stmt.where(_runs.c[name] == value)
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


def count_runs_by_experiment(conn: Connection, names: list[str]) -> dict[str, int]:
    stmt = (select(_runs.c.experiment_name, func.count()).where(_runs.c.experiment_name.in_(names))
            .group_by(_runs.c.experiment_name))
    counts = {name: 0 for name in names}
    counts.update({name: int(n) for name, n in conn.execute(stmt)})
    return counts


@functools.lru_cache(maxsize=256)
def _update_stmt(table: Table, names: tuple[str, ...], with_expect: bool) -> Any:
    """``UPDATE table SET <names> WHERE id = :key [AND status IN :expect] RETURNING <record columns>``.

    Values bind as ``v_<name>``. With no ``names`` it is the matching SELECT.
    """
    columns = _RECORD_COLUMNS[table.name]
    where = [table.c.id == bindparam("key")]
    if with_expect:
        where.append(table.c.status.in_(bindparam("expect", expanding=True)))
    if not names:
        return select(*columns).where(*where)
    return update(table).where(*where).values({n: bindparam(f"v_{n}") for n in names}).returning(*columns)


@functools.lru_cache(maxsize=8)
def _status_stmt(table: Table) -> Any:
    return select(table.c.status).where(table.c.id == bindparam("key"))


def update_checked(
    conn: Connection, *, kind: str, table: Table, key: str, expect: list[str] | None, values: dict[str, Any]
) -> Any:
    """Update the row ``key`` if its status is in ``expect`` (any status when None); return the new row.

    Raises:
        NotFoundError: no such row.
        ConflictError: the row's status is not in ``expect``.
    """
    params = {f"v_{name}": value for name, value in values.items()}
    params["key"] = key
    if expect is not None:
        params["expect"] = expect
    stmt = _update_stmt(table, tuple(sorted(values)), expect is not None)
    row = conn.execute(stmt, params).mappings().first()
    if row is not None:
        return row
    current = conn.execute(_status_stmt(table), {"key": key}).scalar()
    if current is None:
        raise NotFoundError(kind, key)
    wanted = " or ".join(expect or []) or "(none)"
    raise ConflictError(f"{kind} {key} is {current}, not {wanted}; reload it and decide again")


def update_step_runs(conn: Connection, changes: Sequence[tuple[str, dict[str, Any]]]) -> list[StepRunRecord]:
    """Apply checked ``(step run id, values)`` changes in order; return the new records.

    The engine's write of every scheduling pass. On SQLite the compiled statements run on the
    driver's cursor, converting values with the columns' own SQLAlchemy types: the same rows,
    at about half the cost of ``Connection.execute`` (whose per-call overhead is several times
    what SQLite takes to run the statement).

    Raises:
        NotFoundError: no such step run (the caller's transaction rolls back every change).
        StoreError: the driver failed (its error, which SQLAlchemy would have wrapped, is the cause).
    """
    if conn.dialect.name != "sqlite":
        return [
            rows.step_record(
                update_checked(conn, kind="step run", table=_steps, key=key, expect=None, values=values)
            )
            for key, values in changes
        ]
    records = []
    cursor = conn.connection.cursor()
    try:
        for key, values in changes:
            stmt = _driver_update(conn.dialect, tuple(sorted(values)))
            cursor.execute(stmt.sql, [key if name is None else (proc(values[name]) if proc else values[name])
                                      for name, proc in stmt.binds])
            row = cursor.fetchone()
            if row is None:
                raise NotFoundError("step run", key)
            fields = {name: (proc(value) if proc else value)
                      for (name, proc), value in zip(stmt.results, row, strict=True)}
            fields["status"] = StepStatus(fields["status"])
            records.append(StepRunRecord(**fields))
    except conn.dialect.loaded_dbapi.Error as exc:
        raise store_error("update_step_runs", exc) from exc
    finally:
        cursor.close()
    return records


@dataclass(frozen=True)
class _DriverStatement:
    sql: str
    binds: tuple[tuple[str | None, Any], ...]  # in parameter order: (field or None for the key, bind processor)
    results: tuple[tuple[str, Any], ...]  # in column order: (field, result processor)


@functools.lru_cache(maxsize=64)
def _driver_update(dialect: Dialect, names: tuple[str, ...]) -> _DriverStatement:
    """``UPDATE step_runs SET <names> WHERE id = ? RETURNING <record columns>`` for the driver."""
    compiled = _update_stmt(_steps, names, False).compile(dialect=dialect)
    if compiled.positiontup is None:
        raise StoreError(f"metadata store: no positional form of a step update for {dialect.name}")

    def bind(param: str) -> tuple[str | None, Any]:
        if param == "key":
            return None, None
        name = param.removeprefix("v_")
        return name, _steps.c[name].type.dialect_impl(dialect).bind_processor(dialect)

    return _DriverStatement(
        sql=compiled.string,
        binds=tuple(bind(param) for param in compiled.positiontup),
        results=tuple((col.name, col.type.dialect_impl(dialect).result_processor(dialect, None))
                      for col in rows.STEP_COLUMNS),
    )


def claim(
    conn: Connection, *, agent_id: str, lease_until: datetime, run_id: str | None, now: datetime
) -> RunRecord | None:
    """Move one Queued run to Running. The caller's transaction must be a write transaction."""
    if run_id is None:
        candidate = conn.execute(_PICK_OLDEST).scalar()
    else:
        candidate = conn.execute(_PICK_BY_ID, {"key": run_id}).scalar()
    if candidate is None:
        return None
    params = {"key": candidate, "b_agent_id": agent_id, "b_lease_until": lease_until, "b_now": now}
    row = conn.execute(_CLAIM, params).mappings().first()
    return rows.run_record(row) if row else None


def take_over(conn: Connection, *, run_id: str, owner: str | None, attempt: int, agent_id: str,
              lease_until: datetime) -> RunRecord | None:
    """Change the owner of a Running run if it is still ``owner``'s ``attempt``; None otherwise."""
    params = {"key": run_id, "b_owner": owner, "b_attempt": attempt, "b_agent_id": agent_id,
              "b_lease_until": lease_until}
    row = conn.execute(_TAKE_OVER, params).mappings().first()
    if row is not None:
        return rows.run_record(row)
    if conn.execute(_status_stmt(_runs), {"key": run_id}).scalar() is None:
        raise NotFoundError("run", run_id)
    return None


def renew_leases(conn: Connection, *, agent_id: str, lease_until: datetime) -> int:
    return conn.execute(_RENEW, {"b_agent_id": agent_id, "b_lease_until": lease_until}).rowcount


def list_step_runs(conn: Connection, run_id: str) -> list[StepRunRecord]:
    return [rows.step_record(row) for row in conn.execute(_LIST_STEPS, {"run_id": run_id}).mappings()]


def get_step_run(conn: Connection, step_run_id: str) -> StepRunRecord | None:
    row = conn.execute(_GET_STEP, {"key": step_run_id}).mappings().first()
    return rows.step_record(row) if row else None


def find_reusable(conn: Connection, reuse_key: str) -> StepRunRecord | None:
    row = conn.execute(_FIND_REUSABLE, {"reuse_key": reuse_key}).mappings().first()
    return rows.step_record(row) if row else None


# -- explaining a failed insert (IntegrityError says little, and differently per backend) ----------
def _existing(conn: Connection, table: Table, ids: set[str]) -> set[str]:
    if not ids:
        return set()
    return set(conn.execute(select(table.c.id).where(table.c.id.in_(ids))).scalars())


def explain_run_clash(conn: Connection, run: RunRecord, steps: Sequence[StepRunRecord]) -> HeadraceError:
    """The error to raise for a ``create_run`` the database refused."""
    if _existing(conn, _runs, {run.id}):
        return AlreadyExistsError("run", run.id)
    if not _existing(conn, t.experiments, {run.experiment_id}):
        return NotFoundError("experiment", run.experiment_id, "create it with get_or_create_experiment")
    if not _existing(conn, t.pipelines, {run.pipeline_id}):
        return NotFoundError("pipeline", run.pipeline_id, "store it with get_or_create_pipeline")
    step_ids = [step.id for step in steps]
    taken = _existing(conn, _steps, set(step_ids)) | {sid for sid in step_ids if step_ids.count(sid) > 1}
    if taken:
        return AlreadyExistsError("step run", ", ".join(sorted(taken)))
    return StoreError(f"metadata store: cannot insert run {run.id}")


def explain_missing_owner(conn: Connection, metrics: Sequence[MetricRecord]) -> HeadraceError:
    """The error to raise for an ``add_metrics`` the database refused."""
    run_ids = {m.run_id for m in metrics}
    if missing := run_ids - _existing(conn, _runs, run_ids):
        return NotFoundError("run", ", ".join(sorted(missing)))
    step_ids = {m.step_run_id for m in metrics if m.step_run_id is not None}
    if missing := step_ids - _existing(conn, _steps, step_ids):
        return NotFoundError("step run", ", ".join(sorted(missing)))
    return StoreError("metadata store: cannot insert metrics")


def next_metric_seqs(conn: Connection, run_id: str, step_run_id: str | None, names: Sequence[str]) -> dict[str, int]:
    """See ``MetadataStore.next_metric_seqs``: the highest ``seq`` per name in one grouped query."""
    m = t.metrics.c
    owner = m.step_run_id.is_(None) if step_run_id is None else m.step_run_id == step_run_id
    query = select(m.name, func.max(m.seq)).where(m.run_id == run_id, owner, m.name.in_(sorted(set(names))))
    out = dict.fromkeys(names, 0)
    for name, top in conn.execute(query.group_by(m.name)):
        out[name] = int(top) + 1
    return out
