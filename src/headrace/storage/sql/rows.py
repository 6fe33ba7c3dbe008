"""Conversions between table rows and records, the list cursor, and checks and statements for updates."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeVar

from sqlalchemy import Column, ColumnElement, Connection, Table, bindparam, false, select, update

from headrace.storage.records import (
    DatastoreRecord,
    ExperimentRecord,
    MetricRecord,
    PipelineRecord,
    RunKind,
    RunRecord,
    RunStatus,
    StepRunRecord,
    StepStatus,
)
from headrace.storage.sql import tables as t

R = TypeVar("R")

_RUN_FIELDS = tuple(f.name for f in dataclasses.fields(RunRecord))
_STEP_FIELDS = tuple(f.name for f in dataclasses.fields(StepRunRecord))
_METRIC_FIELDS = tuple(f.name for f in dataclasses.fields(MetricRecord))

# The columns selected to build each record (tables may carry extra columns, e.g. step position).
RUN_COLUMNS: list[Column[Any]] = [t.pipeline_runs.c[name] for name in _RUN_FIELDS]
STEP_COLUMNS: list[Column[Any]] = [t.step_runs.c[name] for name in _STEP_FIELDS]
METRIC_COLUMNS: list[Column[Any]] = [t.metrics.c[name] for name in _METRIC_FIELDS]

# Fields an update may change: everything but the identity (and, for step runs, the owning run).
RUN_UPDATABLE = frozenset(_RUN_FIELDS) - {"id"}
STEP_UPDATABLE = frozenset(_STEP_FIELDS) - {"id", "run_id"}


def run_record(row: Mapping[str, Any]) -> RunRecord:
    values = dict(row)
    values["status"] = RunStatus(values["status"])
    values["kind"] = RunKind(values["kind"])
    return RunRecord(**values)


def step_record(row: Mapping[str, Any]) -> StepRunRecord:
    values = dict(row)
    values["status"] = StepStatus(values["status"])
    return StepRunRecord(**values)


def metric_record(row: Mapping[str, Any]) -> MetricRecord:
    return MetricRecord(**row)


def experiment_record(row: Mapping[str, Any]) -> ExperimentRecord:
    return ExperimentRecord(**row)


def pipeline_record(row: Mapping[str, Any]) -> PipelineRecord:
    return PipelineRecord(**row)


def datastore_record(row: Mapping[str, Any]) -> DatastoreRecord:
    return DatastoreRecord(**row)


# What an Integer column holds on every backend (PostgreSQL's is 32 bits, SQLite's 64). A number from a URL
# can be any size: outside this range it names no row, and binding it fails (OverflowError in sqlite3,
# "integer out of range" in PostgreSQL), so it is never sent.
INTEGER_RANGE = range(-(2**31), 2**31)


def int_equals(column: Column[Any], value: int) -> ColumnElement[bool]:
    """``column == value``, or a false condition when no Integer column can hold ``value``."""
    return column == value if value in INTEGER_RANGE else false()


def as_row(record: Any) -> dict[str, Any]:
    """A record's fields as column values (enums as their string value), without deep-copying."""
    row = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    for key, value in row.items():
        if isinstance(value, Enum):
            row[key] = value.value
    return row


def in_utc(record: R) -> R:
    """``record`` with every datetime field converted to UTC, as the store returns them."""
    changes = {
        f.name: value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        for f in dataclasses.fields(record)  # type: ignore[arg-type]
        if isinstance(value := getattr(record, f.name), datetime) and value.tzinfo is not UTC
    }
    return dataclasses.replace(record, **changes) if changes else record  # type: ignore[type-var]


def check_changes(
    kind: str, changes: dict[str, Any], allowed: frozenset[str], status_enum: type[Enum] | None = None
) -> dict[str, Any]:
    """Validate ``changes`` for an update and return them as column values.

    Raises:
        ValueError: a field that does not exist or may not change, or an unknown status.
    """
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise ValueError(
            f"cannot update {kind} field(s) {', '.join(unknown)}; updatable: {', '.join(sorted(allowed))}"
        )
    values = dict(changes)
    if status_enum is not None and "status" in values:
        values["status"] = status_enum(values["status"]).value
    return values


@functools.lru_cache(maxsize=64)
def _update_by_id_stmt(table: Table, names: tuple[str, ...]) -> Any:
    where = table.c.id == bindparam("key")
    if not names:
        return select(table).where(where)
    # Bound names never equal a column name (SQLAlchemy reserves those in UPDATE): hence ``v_``.
    return update(table).where(where).values({n: bindparam(f"v_{n}") for n in names}).returning(*table.c)


def update_by_id(conn: Connection, table: Table, key: str, values: dict[str, Any]) -> Any:
    """Set ``values`` on the row whose ``id`` is ``key``; return the new row (a mapping), or None."""
    params = {f"v_{name}": value for name, value in values.items()}
    params["key"] = key
    return conn.execute(_update_by_id_stmt(table, tuple(sorted(values))), params).mappings().first()


def status_values(statuses: Iterable[Enum | str], status_enum: type[Enum]) -> list[str]:
    return [status_enum(s).value for s in statuses]


def encode_cursor(created_at: datetime, run_id: str) -> str:
    """An opaque cursor pointing just after the run (``created_at``, ``run_id``) in newest-first order."""
    payload = json.dumps([created_at.astimezone(UTC).isoformat(), run_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Raises: ValueError for a cursor this store did not produce."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, run_id = json.loads(raw)
        created_at = datetime.fromisoformat(stamp)
    except (binascii.Error, UnicodeDecodeError, TypeError, ValueError) as exc:
        raise ValueError(f"invalid list cursor {cursor!r}; pass the cursor a previous page returned") from exc
    if not isinstance(run_id, str) or created_at.tzinfo is None:
        raise ValueError(f"invalid list cursor {cursor!r}; pass the cursor a previous page returned")
    return created_at, run_id
