"""Checks for ``SqlMetadataStore`` beyond the conformance suite: migrations, several stores on one
database, error translation. Subclasses provide a ``store_url`` fixture naming a new, empty database.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from subprocess import PIPE

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from headrace.errors import NotFoundError, StoreError
from headrace.storage.records import MetricRecord, RunRecord, RunStatus
from headrace.storage.sql import SqlMetadataStore, schema
from headrace.storage.sql.connection import create_store_engine, write_engine
from headrace.storage.sql.tables import metadata

from .conformance import T0, at, make_run, new_id, run_in_threads
from .conformance_publishing import endpoint_of, publish
from .conformance_run_keys import all_runs, new_run

TABLES = {
    "experiments",
    "pipelines",
    "datastores",
    "pipeline_runs",
    "step_runs",
    "metrics",
    "run_keys",
    "published_pipelines",
    "pipeline_endpoints",
    "endpoint_versions",
    "tokens",
}


def migrate_to(engine: Engine, revision: str) -> None:
    """Run the shipped migrations up to ``revision`` only (as an older headrace would have)."""
    config = Config()
    config.set_main_option("script_location", str(schema.MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.attributes["version_table"] = schema.VERSION_TABLE
    with write_engine(engine).begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def _schema_differences(engine: Engine) -> list:
    """What Alembic finds different between the database's tables and ``metadata`` (types included)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "version_table": schema.VERSION_TABLE})
        return compare_metadata(context, metadata)


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

    def test_tables_match_the_migrations(self, store_url: str) -> None:
        # Replayed migration by migration (as an old database is upgraded), not the new-database path.
        engine = create_store_engine(store_url)
        try:
            migrate_to(engine, "head")
            assert _schema_differences(engine) == []
        finally:
            engine.dispose()

    def test_a_new_database_gets_the_tables_at_once_and_is_stamped_at_head(self, store_url: str) -> None:
        engine = create_store_engine(store_url)
        try:
            schema.upgrade(engine)
            assert schema.current_revision(engine) == schema.HEAD_REVISION
            assert set(metadata.tables) <= set(inspect(engine).get_table_names())
            assert _schema_differences(engine) == []
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

    def test_database_at_revision_0001_upgrades_and_keeps_its_runs(self, store_url: str) -> None:
        engine = create_store_engine(store_url)
        try:
            migrate_to(engine, "0001")
            assert schema.current_revision(engine) == "0001"
            with engine.begin() as conn:
                conn.execute(
                    text("INSERT INTO experiments (id, name, created_at) VALUES ('e1', 'old', :t)"), {"t": T0}
                )
                conn.execute(
                    text(
                        "INSERT INTO pipelines (id, content_hash, graph, created_at)"
                        " VALUES ('p1', 'h-old', '{\"steps\": []}', :t)"
                    ),
                    {"t": T0},
                )
                conn.execute(
                    text(
                        "INSERT INTO pipeline_runs (id, experiment_id, experiment_name, pipeline_id, status,"
                        " created_at, parameters, tags, run_source, continue_on_step_failure,"
                        " regenerate_outputs, cancel_requested, attempt, properties) VALUES ('r1', 'e1',"
                        " 'old', 'p1', 'Finished', :t, '{\"a\": 1}', '{}', 'SDK', false, false, false, 0,"
                        " '{}')"
                    ),
                    {"t": T0},
                )
        finally:
            engine.dispose()
        store = SqlMetadataStore(store_url)
        try:
            run = store.get_run("r1")
            assert (run.experiment_name, run.status, run.parameters, run.created_at) == (
                "old",
                RunStatus.FINISHED,
                {"a": 1},
                T0,
            )
            assert (run.published_pipeline_id, run.pipeline_endpoint_id, run.pipeline_endpoint_version) == (
                None,
                None,
                None,
            )
            assert [r.id for r in store.list_runs(experiment_name="old")[0]] == ["r1"]
            assert store.list_runs(published_pipeline_id="pp")[0] == []
            created, is_new = store.create_run_once(*new_run(store), key="k", not_before=at(-60))
            assert is_new and store.get_run(created.id) == created
            assert store.list_tokens() == [] and store.list_pipeline_endpoints() == []
        finally:
            store.close()
        engine = create_store_engine(store_url)
        try:
            assert schema.current_revision(engine) == schema.HEAD_REVISION
        finally:
            engine.dispose()

    def test_deliveries_made_before_revision_0015_are_queued_in_the_order_made(self, store_url: str) -> None:
        engine = create_store_engine(store_url)
        try:
            migrate_to(engine, "0014")
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO webhooks (id, name, status, url, events, filters, secret, created_at,"
                                  " updated_at) VALUES ('w1', 'ci', 'Active', 'https://x', '[]', '{}', 's', :t, :t)"),
                             {"t": T0})
                for key, seconds in (("msg_b", 2), ("msg_a", 1), ("msg_c", 3)):
                    conn.execute(text("INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, payload,"
                                      " status, created_at, next_attempt_at, attempts) VALUES (:id, 'w1', :id,"
                                      " 'run.failed', '{}', 'pending', :t, :t, 0)"), {"id": key, "t": at(seconds)})
        finally:
            engine.dispose()
        store = SqlMetadataStore(store_url)
        try:
            assert [d.id for d in store.claim_deliveries("o", now=at(10), lease_until=at(60))] == [
                "msg_a", "msg_b", "msg_c"]
            assert [store.get_delivery(key).seq for key in ("msg_a", "msg_b", "msg_c")] == [1, 2, 3]
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

    def test_create_run_once_exactly_once_across_store_instances(self, store_url: str) -> None:
        stores = [SqlMetadataStore(store_url) for _ in range(3)]
        try:
            candidates = [new_run(stores[0], created_at=at(i)) for i in range(9)]
            results = run_in_threads(
                9, lambda i: stores[i % 3].create_run_once(*candidates[i], key="k", not_before=at(-60))
            )
            assert len({run.id for run, _ in results}) == 1
            assert sum(is_new for _, is_new in results) == 1
            assert [r.id for r in all_runs(stores[1])] == [results[0][0].id]
        finally:
            for s in stores:
                s.close()

    def test_add_endpoint_version_atomic_across_store_instances(
        self, store: SqlMetadataStore, store_url: str
    ) -> None:
        ep = endpoint_of(store)
        published = [publish(store).id for _ in range(6)]
        others = [SqlMetadataStore(store_url) for _ in range(3)]
        try:
            run_in_threads(
                6,
                lambda i: others[i % 3].add_endpoint_version(
                    ep.id, published[i], make_default=True, added_at=at(i)
                ),
            )
        finally:
            for other in others:
                other.close()
        final = store.get_pipeline_endpoint(ep.id)
        assert [v.version for v in final.versions] == [str(i) for i in range(7)]

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
