"""Runs read straight from a SQLite home with the standard library, for ``headrace run list``.

Scripts call the CLI in loops; importing SQLAlchemy and checking the schema costs more than the listing
itself. This reads the same rows the SQL store returns (``SELECT *`` mapped onto ``RunRecord`` by each
column's declared type), and only when the database is at the newest migration: anything else answers
None and the caller takes the full store, which migrates or refuses with its usual messages.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from headrace.storage.records import RunKind, RunRecord, RunStatus

__all__ = ["head_revision", "list_runs"]

_VERSIONS = Path(__file__).parent / "migrations" / "versions"
_FIELDS = frozenset(f.name for f in dataclasses.fields(RunRecord))


def head_revision() -> str:
    """The newest migration, from the names of the files in ``migrations/versions`` (``0009_...py``)."""
    return max(p.name[:4] for p in _VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))


def list_runs(path: Path, *, experiment_name: str | None, limit: int) -> list[RunRecord] | None:
    """The newest ``limit`` runs (of one experiment, if named), as ``SqlMetadataStore.list_runs`` orders them;
    None when the file is missing, unreadable or not at the newest schema revision."""
    if not path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        version = conn.execute("SELECT version_num FROM headrace_alembic_version").fetchall()
        if version != [(head_revision(),)]:
            return None
        kinds = {row[1]: str(row[2]).upper() for row in conn.execute("PRAGMA table_info(pipeline_runs)")}
        where, args = ("WHERE experiment_name = ?", [experiment_name]) if experiment_name is not None else ("", [])
        cursor = conn.execute(f"SELECT * FROM pipeline_runs {where} ORDER BY created_at DESC, id DESC LIMIT ?",
                              [*args, limit])
        names = [d[0] for d in cursor.description]
        return [_record(dict(zip(names, row, strict=True)), kinds) for row in cursor]
    except (sqlite3.Error, ValueError, TypeError):
        return None
    finally:
        conn.close()


def _record(row: dict[str, Any], kinds: dict[str, str]) -> RunRecord:
    values = {name: _value(value, kinds.get(name, "")) for name, value in row.items() if name in _FIELDS}
    values["status"] = RunStatus(values["status"])
    values["kind"] = RunKind(values.get("kind") or RunKind.PIPELINE)
    return RunRecord(**values)


def _value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "JSON":
        return json.loads(value)
    if kind == "BOOLEAN":
        return bool(value)
    if kind == "DATETIME":  # SQLAlchemy's text form, in UTC without an offset (tables.UTCDateTime)
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value
