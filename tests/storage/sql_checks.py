"""Checks for ``SqlMetadataStore`` beyond the conformance suite: migrations, several stores on one
database, error translation. Subclasses provide a ``store_url`` fixture naming a new, empty database.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from subprocess import PIPE

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import SQLAlchemyError

from headrace.errors import NotFoundError, StoreError
from headrace.storage.records import MetricRecord, RunRecord, RunStatus
from headrace.storage.sql import SqlMetadataStore, schema
from headrace.storage.sql.connection import create_store_engine
from headrace.storage.sql.tables import metadata

from .conformance import T0, at, make_run, new_id, run_in_threads

TABLES = {"experiments", "pipelines", "datastores", "pipeline_runs", "step_runs", "metrics"}


class SqlStoreChecks:
    __test__ = False

    @pytest.fixture
    def store(self, store_url: str) -> Iterator[SqlMetadataStore]:
        store = SqlMetadataStore(store_url)
        yield store
        store.close()

    # -- migrations ----------------------------------------------------------------------
    def test_head_revision_constant_matches_the_migrations(self) -> None:
        assert ScriptDirectory(str(schema.MIGRATIONS_DIR)).get_current_head() == schema.HEAD_REVISION

    def test_tables_match_the_migrations(self, store: SqlMetadataStore, store_url: str) -> None:
        engine = create_store_engine(store_url)
        try:
            with engine.connect() as conn:
                context = MigrationContext.configure(
                    conn, opts={"compare_type": True, "version_table": schema.VERSION_TABLE}
                )
                assert compare_metadata(context, metadata) == []
        finally:
            engine.dispose()

    def test_migrations_run_twice_are_a_noop(self, store_url: str) -> None:
        engine = create_store_engine(store_url)
        try:
            assert schema.current_revision(engine) is None
            schema.upgrade(engine)
            with engine.begin() as conn:
                conn.execute(
                    text("INSERT INTO experiments (id, name, created_at) VALUES ('e1', 'kept', :t)"),
                    {"t": T0},
                )
            schema.upgrade(engine)
            assert schema.current_revision(engine) == schema.HEAD_REVISION
            assert TABLES <= set(inspect(engine).get_table_names())
        finally:
            engine.dispose()
        store = SqlMetadataStore(store_url)  # opening a migrated database keeps its data
        try:
            assert [e.id for e in store.list_experiments()] == ["e1"]
        finally:
            store.close()

    def test_database_from_a_newer_headrace_raises_store_error(
        self, store: SqlMetadataStore, store_url: str
    ) -> None:
        engine = create_store_engine(store_url)
        try:
            with engine.begin() as conn:
                conn.execute(text(f"UPDATE {schema.VERSION_TABLE} SET version_num = '9999'"))
        finally:
            engine.dispose()
        with pytest.raises(StoreError, match="9999"):
            SqlMetadataStore(store_url)

    def test_concurrent_first_opens_of_a_fresh_database(self, store_url: str) -> None:
        stores = run_in_threads(4, lambda _: SqlMetadataStore(store_url))
        try:
            made = [s.get_or_create_experiment("shared") for s in stores]
            assert len({e.id for e in made}) == 1
        finally:
            for s in stores:
                s.close()

    def test_first_opens_from_separate_processes(self, store_url: str) -> None:
        code = (
            "import sys\n"
            "from headrace.storage.sql import SqlMetadataStore\n"
            "store = SqlMetadataStore(sys.argv[1])\n"
            "print(store.get_or_create_experiment('shared').id)\n"
            "store.close()\n"
        )
        procs = [
            subprocess.Popen([sys.executable, "-c", code, store_url], stdout=PIPE, stderr=PIPE, text=True)
            for _ in range(2)
        ]
        outputs = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
        assert len({out.strip() for out, _ in outputs}) == 1
        store = SqlMetadataStore(store_url)
        try:
            assert [e.name for e in store.list_experiments()] == ["shared"]
        finally:
            store.close()

    # -- several stores on one database ------------------------------------------------
    def test_claim_run_exactly_once_across_store_instances(
        self, store: SqlMetadataStore, store_url: str
    ) -> None:
        runs = [make_run(store, created_at=at(i))[0] for i in range(12)]
        others = [SqlMetadataStore(store_url) for _ in range(3)]
        try:

            def drain(i: int) -> list[str]:
                mine = others[i % len(others)]
                won = []
                while (claimed := mine.claim_run(f"agent-{i}", at(100))) is not None:
                    won.append(claimed.id)
                return won

            claims = [rid for won in run_in_threads(6, drain) for rid in won]
        finally:
            for other in others:
                other.close()
        assert sorted(claims) == sorted(r.id for r in runs)
        assert all(store.get_run(r.id).attempt == 1 for r in runs)

    # -- errors --------------------------------------------------------------------------
    def test_invalid_cursor_raises_value_error(self, store: SqlMetadataStore) -> None:
        for cursor in ("not base64 !", "bm90IGpzb24", "WyJ4Il0"):
            with pytest.raises(ValueError, match="cursor"):
                store.list_runs(cursor=cursor)
        with pytest.raises(ValueError, match="limit"):
            store.list_runs(limit=0)

    def test_missing_owners_raise_not_found(self, store: SqlMetadataStore) -> None:
        run, steps = make_run(store, steps=["s"])
        orphan = RunRecord(new_id(), "no-exp", "x", run.pipeline_id, RunStatus.QUEUED, T0, {})
        with pytest.raises(NotFoundError) as info:
            store.create_run(orphan, [])
        assert info.value.kind == "experiment"
        with pytest.raises(ValueError, match="belong"):
            store.create_run(orphan, [steps[0]])
        with pytest.raises(NotFoundError) as info:
            store.add_metrics([MetricRecord("no-run", None, "m", 1, "scalar", 0, T0)])
        assert info.value.kind == "run"
        with pytest.raises(NotFoundError) as info:
            store.add_metrics([MetricRecord(run.id, "no-step", "m", 1, "scalar", 0, T0)])
        assert info.value.kind == "step run"
        assert store.list_metrics(run.id) == []

    def test_database_errors_become_store_errors(self, store: SqlMetadataStore, store_url: str) -> None:
        engine = create_store_engine(store_url)
        try:
            with engine.begin() as conn:
                conn.execute(text("DROP TABLE metrics"))
        finally:
            engine.dispose()
        with pytest.raises(StoreError, match="list_metrics") as info:
            store.list_metrics("r")
        assert isinstance(info.value.__cause__, SQLAlchemyError)
