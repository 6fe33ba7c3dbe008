"""``create_run_once``: exactly-once run creation under an idempotency key, on SQLite and PostgreSQL.

One write transaction inserts the ``run_keys`` row *first*, with ``ON CONFLICT DO NOTHING``, then
the run. The key row is what serialises racing callers:

* SQLite: the transaction holds the write lock from ``BEGIN IMMEDIATE``, so callers (threads,
  store instances, processes) simply take turns.
* PostgreSQL: a second insert of the same key waits for the first transaction, then does nothing
  once it commits (or inserts, if it rolled back); the loser reads the winner's row in its next
  statement (READ COMMITTED). No error aborts the transaction, so no savepoint is needed.

An expired key is taken over with a conditional UPDATE (``created_at < not_before``): of two callers
replacing it, the second waits for the first's row lock, re-checks the condition on the new row,
updates nothing and returns the first's run. The key's foreign key to its run is checked at
commit, which is what lets the key go in before the run.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError

from headrace.errors import StoreError
from headrace.storage.records import RunRecord, StepRunRecord
from headrace.storage.sql import outbox, rows, runs
from headrace.storage.sql import tables as t
from headrace.storage.sql.session import SqlSession, translated

__all__ = ["RunKeyMethods"]

_keys = t.run_keys


@functools.cache
def _insert_key(dialect: str):  # noqa: ANN202
    """INSERT ... ON CONFLICT DO NOTHING RETURNING key, for ``dialect`` ("sqlite" or "postgresql").

    RETURNING tells whether the row went in: psycopg reports no rowcount for this INSERT. Built on
    first use: importing the PostgreSQL dialect costs every SQLite user start-up time.
    """
    insert = importlib.import_module(f"sqlalchemy.dialects.{dialect}").insert
    return insert(_keys).on_conflict_do_nothing(index_elements=["key"]).returning(_keys.c.key)

_GET_KEY = select(_keys.c.run_id, _keys.c.created_at).where(_keys.c.key == bindparam("key"))
_REPLACE_KEY = (
    update(_keys)
    .where(_keys.c.key == bindparam("b_key"), _keys.c.created_at < bindparam("b_not_before"))
    .values(run_id=bindparam("b_run_id"), created_at=bindparam("b_created_at"))
    .returning(_keys.c.key)
)
_PRUNE = delete(_keys).where(_keys.c.created_at < bindparam("b_before"))

# A key pruned between our failed insert and our read makes us try again; twice in a row is absurd.
_ATTEMPTS = 3


def create_once(
    conn: Connection, run: RunRecord, steps: Sequence[StepRunRecord], *, key: str, not_before: datetime
) -> RunRecord | None:
    """Create ``run`` under ``key`` unless a live key exists; None if created, else the key's run.

    The caller's transaction must be a write transaction.
    """
    insert_key = _insert_key(conn.dialect.name)
    for _ in range(_ATTEMPTS):
        row = {"key": key, "run_id": run.id, "created_at": run.created_at}
        if conn.execute(insert_key, row).first() is not None:
            runs.insert_run(conn, run, steps)
            return None
        found = conn.execute(_GET_KEY, {"key": key}).first()
        if found is None:
            continue  # pruned since the insert: try again
        if found.created_at >= not_before:
            existing = runs.get_run(conn, found.run_id)
            if existing is None:  # pragma: no cover - the foreign key cascades deletes
                raise StoreError(f"metadata store: run key {key!r} names missing run {found.run_id}")
            return existing
        params = {
            "b_key": key,
            "b_not_before": not_before,
            "b_run_id": run.id,
            "b_created_at": run.created_at,
        }
        if conn.execute(_REPLACE_KEY, params).first() is not None:
            runs.insert_run(conn, run, steps)
            return None
        # Someone else replaced (or pruned) it first: look again.
    raise StoreError(f"metadata store: run key {key!r} keeps changing; try again")


class RunKeyMethods(SqlSession):
    """``create_run_once`` and ``prune_run_keys`` of ``SqlMetadataStore``."""

    @translated
    def create_run_once(
        self, run: RunRecord, steps: Sequence[StepRunRecord], *, key: str, not_before: datetime
    ) -> tuple[RunRecord, bool]:
        """See ``MetadataStore.create_run_once``. The key is dated by ``run.created_at``.

        Raises:
            AlreadyExistsError: the run id or a step run id is taken.
            NotFoundError: the run's experiment or pipeline does not exist.
            ValueError: a step run belongs to another run.
        """
        runs.check_steps_belong(run, steps)
        if not_before.tzinfo is None:
            not_before = not_before.replace(tzinfo=UTC)
        try:
            with self._write() as conn:
                existing = create_once(conn, run, steps, key=key, not_before=not_before)
                if existing is None:
                    outbox.run_event(conn, run, created=True)
        except IntegrityError as exc:
            with self._read() as conn:
                raise runs.explain_run_clash(conn, run, steps) from exc
        if existing is None:
            return rows.in_utc(run), True
        return existing, False

    @translated
    def prune_run_keys(self, before: datetime) -> int:
        with self._write() as conn:
            return conn.execute(_PRUNE, {"b_before": before}).rowcount
