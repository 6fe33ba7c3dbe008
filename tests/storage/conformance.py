"""The ``MetadataStore`` conformance suite: every implementation must pass it.

Subclass ``StoreConformance`` in a ``test_*.py`` module and provide a ``store`` fixture that yields
a new, empty store (closing it afterwards). Tests only use the public interface.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from headrace.errors import AlreadyExistsError, ConflictError, NotFoundError
from headrace.storage.base import MetadataStore
from headrace.storage.records import (
    DatastoreRecord,
    MetricRecord,
    RunKind,
    RunRecord,
    RunStatus,
    StepRunRecord,
    StepStatus,
)

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
PLUS_TWO = timezone(timedelta(hours=2))


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def new_id() -> str:
    return uuid.uuid4().hex


def make_run(
    store: MetadataStore,
    *,
    experiment: str = "exp",
    content_hash: str = "hash-1",
    status: RunStatus = RunStatus.QUEUED,
    created_at: datetime = T0,
    steps: Sequence[str] = (),
    **fields: Any,
) -> tuple[RunRecord, list[StepRunRecord]]:
    """Create a run (and its experiment and pipeline) with step runs named ``steps``, in that order."""
    exp = store.get_or_create_experiment(experiment)
    pipeline = store.get_or_create_pipeline(content_hash, {"steps": list(steps)})
    run = RunRecord(
        id=new_id(),
        experiment_id=exp.id,
        experiment_name=exp.name,
        pipeline_id=pipeline.id,
        status=status,
        created_at=created_at,
        parameters={"alpha": 0.5},
        **fields,
    )
    step_runs = [
        StepRunRecord(
            id=new_id(), run_id=run.id, name=name, status=StepStatus.NOT_STARTED, created_at=created_at
        )
        for name in steps
    ]
    return store.create_run(run, step_runs), step_runs


def assert_utc(value: datetime | None) -> None:
    assert value is not None and value.tzinfo is not None and value.utcoffset() == timedelta(0)


def run_in_threads(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """Run ``fn(i)`` for i in range(n) in n threads released together; return the results in order."""
    barrier = threading.Barrier(n)

    def call(i: int) -> Any:
        barrier.wait()
        return fn(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(call, range(n)))


class StoreConformance:
    """Behaviour every ``MetadataStore`` shares; subclasses provide the ``store`` fixture."""

    __test__ = False

    # -- experiments ---------------------------------------------------------------------
    def test_get_or_create_experiment_creates_once(self, store: MetadataStore) -> None:
        first = store.get_or_create_experiment("train")
        assert first.name == "train"
        assert_utc(first.created_at)
        assert store.get_or_create_experiment("train") == first
        assert store.get_experiment("train") == first

    def test_get_missing_experiment_raises_not_found(self, store: MetadataStore) -> None:
        with pytest.raises(NotFoundError) as info:
            store.get_experiment("nope")
        assert (info.value.kind, info.value.key) == ("experiment", "nope")

    def test_list_experiments_by_name(self, store: MetadataStore) -> None:
        assert store.list_experiments() == []
        for name in ("b", "c", "a"):
            store.get_or_create_experiment(name)
        assert [e.name for e in store.list_experiments()] == ["a", "b", "c"]

    def test_get_or_create_experiment_is_safe_under_races(self, store: MetadataStore) -> None:
        made = run_in_threads(8, lambda _: store.get_or_create_experiment("raced"))
        assert len({e.id for e in made}) == 1
        assert [e.name for e in store.list_experiments()] == ["raced"]

    # -- pipelines -----------------------------------------------------------------------
    def test_get_or_create_pipeline_dedups_by_hash(self, store: MetadataStore) -> None:
        graph = {"steps": [{"name": "prep", "args": [1, 2.5, None, True, "é✓"]}], "nested": {"k": {"x": []}}}
        first = store.get_or_create_pipeline("h1", graph)
        assert first.graph == graph and first.content_hash == "h1"
        assert_utc(first.created_at)
        assert store.get_or_create_pipeline("h1", {"other": 1}) == first
        assert store.get_pipeline(first.id) == first
        assert store.get_or_create_pipeline("h2", graph).id != first.id

    def test_get_missing_pipeline_raises_not_found(self, store: MetadataStore) -> None:
        with pytest.raises(NotFoundError) as info:
            store.get_pipeline("nope")
        assert info.value.kind == "pipeline"

    def test_get_or_create_pipeline_is_safe_under_races(self, store: MetadataStore) -> None:
        made = run_in_threads(8, lambda i: store.get_or_create_pipeline("same", {"i": i}))
        assert len({p.id for p in made}) == 1
        assert store.get_pipeline(made[0].id).graph == made[0].graph

    # -- datastores ----------------------------------------------------------------------
    def test_datastore_round_trip(self, store: MetadataStore) -> None:
        record = DatastoreRecord(
            "raw", "s3", "s3://bucket/root", {"endpoint_url": "http://x", "anon": False}, at(1)
        )
        assert store.create_datastore(record) == record
        assert store.get_datastore("raw") == record
        assert_utc(store.get_datastore("raw").created_at)

    def test_create_datastore_twice_raises_already_exists(self, store: MetadataStore) -> None:
        store.create_datastore(DatastoreRecord("raw", "local", "/tmp/a", {}, T0))
        with pytest.raises(AlreadyExistsError) as info:
            store.create_datastore(DatastoreRecord("raw", "local", "/tmp/b", {}, T0))
        assert (info.value.kind, info.value.key) == ("datastore", "raw")
        assert store.get_datastore("raw").root_uri == "/tmp/a"

    def test_replace_and_delete_datastore(self, store: MetadataStore) -> None:
        store.create_datastore(DatastoreRecord("raw", "local", "/tmp/a", {}, T0))
        new = DatastoreRecord("raw", "s3", "s3://bucket", {"storage": {"key": "k"}, "secret": "x"}, T0)
        assert store.replace_datastore(new) == new
        assert store.get_datastore("raw") == new
        store.delete_datastore("raw")
        with pytest.raises(NotFoundError):
            store.get_datastore("raw")
        with pytest.raises(NotFoundError):
            store.delete_datastore("raw")
        with pytest.raises(NotFoundError):
            store.replace_datastore(new)

    def test_datastores_listed_by_name_and_missing_raises(self, store: MetadataStore) -> None:
        for name in ("zeta", "alpha"):
            store.create_datastore(DatastoreRecord(name, "local", f"/data/{name}", {}, T0))
        assert [d.name for d in store.list_datastores()] == ["alpha", "zeta"]
        with pytest.raises(NotFoundError):
            store.get_datastore("beta")

    # -- runs ----------------------------------------------------------------------------
    def test_run_round_trips_every_field(self, store: MetadataStore) -> None:
        exp = store.get_or_create_experiment("exp")
        pipeline = store.get_or_create_pipeline("h", {})
        run = RunRecord(
            id=new_id(),
            experiment_id=exp.id,
            experiment_name=exp.name,
            pipeline_id=pipeline.id,
            status=RunStatus.RUNNING,
            created_at=datetime(2026, 3, 1, 14, 0, 0, 1, tzinfo=PLUS_TWO),  # stored and returned as UTC
            parameters={"lr": 0.001, "n": 3, "data": {"datastore": "raw", "path": "in/x.csv"}, "flag": None},
            tags={"team": "ml", "ünï": "cødé"},
            description="a run",
            run_source="Schedule",
            continue_on_step_failure=True,
            regenerate_outputs=True,
            started_at=at(1),
            ended_at=at(2),
            error="boom",
            cancel_requested=True,
            agent_id="agent-1",
            lease_expires_at=at(60),
            attempt=3,
            properties={"azureml.runsource": "azureml.PipelineRun", "list": [1, "2", 3.5]},
        )
        assert store.create_run(run, []) == run
        loaded = store.get_run(run.id)
        assert loaded == run
        for value in (loaded.created_at, loaded.started_at, loaded.ended_at, loaded.lease_expires_at):
            assert_utc(value)
        assert loaded.created_at.microsecond == 1
        assert isinstance(loaded.status, RunStatus)

    def test_step_runs_round_trip_in_creation_order(self, store: MetadataStore) -> None:
        run, steps = make_run(store, steps=["train", "prep", "zeta", "eval"])
        loaded = store.list_step_runs(run.id)
        assert loaded == steps
        assert [s.name for s in loaded] == ["train", "prep", "zeta", "eval"]
        assert all(isinstance(s.status, StepStatus) for s in loaded)
        assert store.get_step_run(steps[2].id) == steps[2]
        assert store.list_step_runs("no-such-run") == []

    def test_create_run_with_taken_id_raises_already_exists(self, store: MetadataStore) -> None:
        run, _ = make_run(store)
        with pytest.raises(AlreadyExistsError) as info:
            store.create_run(run, [])
        assert info.value.kind == "run"

    def test_create_run_is_all_or_nothing(self, store: MetadataStore) -> None:
        first, steps = make_run(store, steps=["a"])
        run = dataclasses.replace(first, id=new_id())
        clash = [
            StepRunRecord(new_id(), run.id, "ok", StepStatus.NOT_STARTED, T0),
            StepRunRecord(steps[0].id, run.id, "taken", StepStatus.NOT_STARTED, T0),
        ]
        with pytest.raises(AlreadyExistsError):
            store.create_run(run, clash)
        with pytest.raises(NotFoundError):
            store.get_run(run.id)
        with pytest.raises(NotFoundError):
            store.get_step_run(clash[0].id)

    def test_get_missing_run_raises_not_found(self, store: MetadataStore) -> None:
        with pytest.raises(NotFoundError) as info:
            store.get_run("nope")
        assert (info.value.kind, info.value.key) == ("run", "nope")

    def test_update_run_applies_and_persists_changes(self, store: MetadataStore) -> None:
        run, _ = make_run(store)
        updated = store.update_run(
            run.id,
            status=RunStatus.FINISHED,
            ended_at=at(5),
            tags={"k": "v"},
            properties={"p": [1]},
            error=None,
        )
        assert updated.status is RunStatus.FINISHED
        assert (updated.ended_at, updated.tags, updated.properties) == (at(5), {"k": "v"}, {"p": [1]})
        assert store.get_run(run.id) == updated
        assert updated.parameters == run.parameters

    def test_update_run_with_expect(self, store: MetadataStore) -> None:
        run, _ = make_run(store)
        ok = store.update_run(
            run.id, expect=[RunStatus.QUEUED, RunStatus.NOT_STARTED], status=RunStatus.CANCELED
        )
        assert ok.status is RunStatus.CANCELED
        with pytest.raises(ConflictError, match="Canceled"):
            store.update_run(run.id, expect=[RunStatus.QUEUED], status=RunStatus.RUNNING)
        assert store.get_run(run.id).status is RunStatus.CANCELED
        assert store.update_run(run.id, expect=[RunStatus.CANCELED]) == ok  # no changes: just the check
        with pytest.raises(ConflictError):
            store.update_run(run.id, expect=[RunStatus.RUNNING])

    def test_update_run_rejects_unknown_fields_and_missing_runs(self, store: MetadataStore) -> None:
        run, _ = make_run(store)
        with pytest.raises(ValueError, match="colour"):
            store.update_run(run.id, colour="red")
        with pytest.raises(ValueError):
            store.update_run(run.id, id="other")
        with pytest.raises(NotFoundError):
            store.update_run("nope", status=RunStatus.FAILED)
        with pytest.raises(NotFoundError):
            store.update_run("nope", expect=[RunStatus.QUEUED], status=RunStatus.FAILED)
        assert store.get_run(run.id) == run

    # -- listing -------------------------------------------------------------------------
    def test_list_runs_newest_first_with_filters(self, store: MetadataStore) -> None:
        a1, _ = make_run(store, experiment="a", created_at=at(1), status=RunStatus.FINISHED)
        b1, _ = make_run(store, experiment="b", created_at=at(2), content_hash="other")
        a2, _ = make_run(store, experiment="a", created_at=at(3), status=RunStatus.FAILED)
        a3, _ = make_run(store, experiment="a", created_at=at(4), status=RunStatus.RUNNING)

        def ids(**kw: Any) -> list[str]:
            page, cursor = store.list_runs(**kw)
            assert cursor is None
            return [r.id for r in page]

        assert ids() == [a3.id, a2.id, b1.id, a1.id]
        assert ids(experiment_name="a") == [a3.id, a2.id, a1.id]
        assert ids(experiment_name="missing") == []
        assert ids(statuses=[RunStatus.FINISHED, RunStatus.FAILED]) == [a2.id, a1.id]
        assert ids(statuses=[]) == []
        assert ids(pipeline_id=b1.pipeline_id) == [b1.id]
        assert ids(experiment_name="a", statuses=[RunStatus.RUNNING], pipeline_id=a1.pipeline_id) == [a3.id]
        assert store.list_runs(experiment_name="a")[0][0] == a3

    def test_list_runs_pages_with_cursor(self, store: MetadataStore) -> None:
        # Several runs share a created_at: paging must neither repeat nor skip any of them.
        made = [make_run(store, created_at=at(i // 3))[0] for i in range(10)]
        expected = sorted(made, key=lambda r: r.created_at, reverse=True)
        seen: list[RunRecord] = []
        cursor = None
        pages = 0
        while True:
            page, cursor = store.list_runs(limit=3, cursor=cursor)
            seen.extend(page)
            pages += 1
            if cursor is None:
                break
            assert len(page) == 3
        assert pages == 4
        assert sorted(r.id for r in seen) == sorted(r.id for r in made)
        assert [r.created_at for r in seen] == [r.created_at for r in expected]
        page, cursor = store.list_runs(limit=10)
        assert len(page) == 10 and cursor is None

    def test_list_runs_cursor_keeps_filters(self, store: MetadataStore) -> None:
        wanted = [make_run(store, experiment="keep", created_at=at(i))[0] for i in range(5)]
        for i in range(5):
            make_run(store, experiment="drop", created_at=at(i))
        first, cursor = store.list_runs(experiment_name="keep", limit=2)
        rest, end = store.list_runs(experiment_name="keep", limit=10, cursor=cursor)
        assert end is None
        assert [r.id for r in first + rest] == [r.id for r in reversed(wanted)]

    def test_list_runs_by_tags(self, store: MetadataStore) -> None:
        qa = make_run(store, created_at=at(1), tags={"headrace.flow": "qa", "kind": "batch"})[0]
        qa_eval = make_run(store, created_at=at(2), tags={"headrace.flow": "qa", "kind": "evaluation"})[0]
        make_run(store, created_at=at(3), tags={"headrace.flow": "qa-2", "kind": "batch"})
        make_run(store, created_at=at(4), tags={"other": "qa"})
        make_run(store, created_at=at(5))

        def ids(**tags: str) -> list[str]:
            return [r.id for r in store.list_runs(tags=tags)[0]]

        assert ids(**{"headrace.flow": "qa"}) == [qa_eval.id, qa.id]  # a dotted key, an exact value
        assert ids(**{"headrace.flow": "qa", "kind": "batch"}) == [qa.id]
        assert ids(**{"headrace.flow": "q"}) == [] and ids(kind="none") == []
        first, cursor = store.list_runs(tags={"headrace.flow": "qa"}, limit=1)
        rest, end = store.list_runs(tags={"headrace.flow": "qa"}, limit=5, cursor=cursor)
        assert [r.id for r in first + rest] == [qa_eval.id, qa.id] and end is None

    def test_run_kinds_children_and_completed_status(self, store: MetadataStore) -> None:
        parent = make_run(store, created_at=at(1), kind=RunKind.SWEEP, status=RunStatus.RUNNING)[0]
        first = make_run(store, created_at=at(2), kind=RunKind.SCRIPT, parent_run_id=parent.id)[0]
        second = make_run(store, created_at=at(3), kind=RunKind.INTERACTIVE, parent_run_id=parent.id)[0]
        make_run(store, created_at=at(4))
        loaded = store.get_run(first.id)
        assert loaded.kind is RunKind.SCRIPT and loaded.parent_run_id == parent.id
        assert store.get_run(parent.id).kind is RunKind.SWEEP and store.get_run(parent.id).parent_run_id is None
        assert [r.id for r in store.list_runs(parent_run_id=parent.id)[0]] == [second.id, first.id]
        done = store.update_run(second.id, status=RunStatus.COMPLETED, ended_at=at(5))
        assert done.status is RunStatus.COMPLETED and done.status.is_terminal
        assert [r.id for r in store.list_runs(statuses=[RunStatus.COMPLETED])[0]] == [second.id]

    def test_list_runs_by_creation_time_and_counts_per_experiment(self, store: MetadataStore) -> None:
        made = [make_run(store, experiment="a" if i % 3 else "b", created_at=at(i))[0] for i in range(6)]

        def ids(**kw: Any) -> list[str]:
            return [r.id for r in store.list_runs(**kw)[0]]

        assert ids(created_after=at(2), created_before=at(4)) == [made[4].id, made[3].id, made[2].id]
        assert ids(created_before=at(0)) == [made[0].id]
        assert ids(created_after=at(5), experiment_name="a") == [made[5].id]
        assert ids(created_after=at(9)) == []
        first, cursor = store.list_runs(created_after=at(1), limit=2)
        rest, end = store.list_runs(created_after=at(1), limit=10, cursor=cursor)
        assert end is None and [r.id for r in first + rest] == [r.id for r in reversed(made[1:])]
        assert store.count_runs_by_experiment(["a", "b", "none", "a"]) == {"a": 4, "b": 2, "none": 0}
        assert store.count_runs_by_experiment([]) == {}

    # -- claiming ------------------------------------------------------------------------
    def test_claim_run_takes_the_oldest_queued_run(self, store: MetadataStore) -> None:
        make_run(store, created_at=at(0), status=RunStatus.NOT_STARTED)
        newer, _ = make_run(store, created_at=at(2))
        oldest, _ = make_run(store, created_at=at(1))
        claimed = store.claim_run("agent-1", at(100))
        assert claimed is not None and claimed.id == oldest.id
        assert claimed.status is RunStatus.RUNNING
        assert (claimed.agent_id, claimed.lease_expires_at, claimed.attempt) == ("agent-1", at(100), 1)
        assert_utc(claimed.started_at)
        assert store.get_run(oldest.id) == claimed
        assert store.claim_run("agent-2", at(100)).id == newer.id
        assert store.claim_run("agent-3", at(100)) is None

    def test_claim_run_by_id(self, store: MetadataStore) -> None:
        first, _ = make_run(store, created_at=at(1))
        second, _ = make_run(store, created_at=at(2))
        assert store.claim_run("a", at(50), run_id=second.id).id == second.id
        assert store.claim_run("b", at(50), run_id=second.id) is None  # already Running
        assert store.claim_run("b", at(50), run_id="no-such-run") is None
        assert store.get_run(first.id).status is RunStatus.QUEUED

    def test_claim_run_wins_exactly_once_across_threads(self, store: MetadataStore) -> None:
        runs = [make_run(store, created_at=at(i))[0] for i in range(12)]

        def drain(i: int) -> list[str]:
            won = []
            while (claimed := store.claim_run(f"agent-{i}", at(100))) is not None:
                won.append(claimed.id)
            return won

        claims = [rid for won in run_in_threads(6, drain) for rid in won]
        assert sorted(claims) == sorted(r.id for r in runs)

    def test_claim_same_run_by_id_across_threads(self, store: MetadataStore) -> None:
        run, _ = make_run(store)
        results = run_in_threads(6, lambda i: store.claim_run(f"agent-{i}", at(100), run_id=run.id))
        winners = [r for r in results if r is not None]
        assert len(winners) == 1
        assert store.get_run(run.id).agent_id == winners[0].agent_id

    def test_renew_leases_extends_only_the_agents_running_runs(self, store: MetadataStore) -> None:
        mine = [make_run(store, created_at=at(i))[0] for i in range(2)]
        for run in mine:
            store.claim_run("me", at(10), run_id=run.id)
        done, _ = make_run(store, created_at=at(3))
        store.claim_run("me", at(10), run_id=done.id)
        store.update_run(done.id, status=RunStatus.FINISHED)
        theirs, _ = make_run(store, created_at=at(4))
        store.claim_run("them", at(10), run_id=theirs.id)

        assert store.renew_leases("me", at(99)) == 2
        assert [store.get_run(r.id).lease_expires_at for r in mine] == [at(99), at(99)]
        assert store.get_run(done.id).lease_expires_at == at(10)
        assert store.get_run(theirs.id).lease_expires_at == at(10)
        assert store.renew_leases("nobody", at(99)) == 0

    def test_take_over_run_only_from_the_owner_it_saw(self, store: MetadataStore) -> None:
        run, _ = make_run(store)
        seen = store.claim_run("dead", at(10), run_id=run.id)
        taken = store.take_over_run(run.id, owner="dead", attempt=seen.attempt, agent_id="b", lease_until=at(50))
        assert taken is not None and (taken.agent_id, taken.lease_expires_at) == ("b", at(50))
        assert (taken.status, taken.attempt) == (RunStatus.RUNNING, seen.attempt)
        assert store.get_run(run.id) == taken
        # A second recoverer that saw the dead owner loses, and changes nothing.
        assert store.take_over_run(run.id, owner="dead", attempt=seen.attempt, agent_id="c",
                                   lease_until=at(60)) is None
        assert store.get_run(run.id) == taken
        # Re-queued and claimed again (by the dead agent's id even): a stale view still loses.
        store.update_run(run.id, status=RunStatus.QUEUED, agent_id=None, lease_expires_at=None)
        again = store.claim_run("dead", at(70), run_id=run.id)
        assert store.take_over_run(run.id, owner="dead", attempt=seen.attempt, agent_id="c",
                                   lease_until=at(80)) is None
        assert store.get_run(run.id) == again
        # Not Running: nothing to take over.
        store.update_run(run.id, status=RunStatus.FAILED, agent_id=None, lease_expires_at=None)
        assert store.take_over_run(run.id, owner=None, attempt=again.attempt, agent_id="c",
                                   lease_until=at(80)) is None
        with pytest.raises(NotFoundError):
            store.take_over_run("nope", owner="dead", attempt=1, agent_id="c", lease_until=at(80))

    def test_take_over_run_with_no_owner(self, store: MetadataStore) -> None:
        run, _ = make_run(store, status=RunStatus.RUNNING)
        assert store.take_over_run(run.id, owner="someone", attempt=0, agent_id="b", lease_until=at(5)) is None
        taken = store.take_over_run(run.id, owner=None, attempt=0, agent_id="b", lease_until=at(5))
        assert taken is not None and taken.agent_id == "b"

    def test_take_over_run_wins_exactly_once_across_threads(self, store: MetadataStore) -> None:
        run, _ = make_run(store)
        seen = store.claim_run("dead", at(10), run_id=run.id)
        results = run_in_threads(6, lambda i: store.take_over_run(
            run.id, owner="dead", attempt=seen.attempt, agent_id=f"agent-{i}", lease_until=at(100)))
        winners = [r for r in results if r is not None]
        assert len(winners) == 1
        assert store.get_run(run.id).agent_id == winners[0].agent_id

    # -- step runs -----------------------------------------------------------------------
    def test_update_step_run(self, store: MetadataStore) -> None:
        _, steps = make_run(store, steps=["prep"])
        step = steps[0]
        outputs = {"out": {"datastore": "raw", "path": "runs/x/out"}}
        updated = store.update_step_run(
            step.id,
            expect=[StepStatus.NOT_STARTED],
            status=StepStatus.FINISHED,
            started_at=at(1),
            ended_at=datetime(2026, 3, 1, 14, 0, 9, tzinfo=PLUS_TWO),
            exit_code=0,
            outputs=outputs,
            reuse_key="rk",
            log_uri="file:///logs/x",
            tags={"t": "1"},
            properties={"p": {"q": 2}},
        )
        assert updated.status is StepStatus.FINISHED and updated.outputs == outputs
        assert updated.ended_at == datetime(2026, 3, 1, 12, 0, 9, tzinfo=UTC) and updated.exit_code == 0
        assert_utc(updated.ended_at)
        assert store.get_step_run(step.id) == updated
        assert store.list_step_runs(step.run_id) == [updated]

    def test_update_step_run_errors(self, store: MetadataStore) -> None:
        _, steps = make_run(store, steps=["prep"])
        step = steps[0]
        with pytest.raises(ConflictError, match="NotStarted"):
            store.update_step_run(step.id, expect=[StepStatus.RUNNING], status=StepStatus.FINISHED)
        with pytest.raises(ValueError, match="bogus"):
            store.update_step_run(step.id, bogus=1)
        with pytest.raises(ValueError):
            store.update_step_run(step.id, run_id="elsewhere")
        with pytest.raises(NotFoundError) as info:
            store.update_step_run("nope", status=StepStatus.FAILED)
        assert info.value.kind == "step run"
        with pytest.raises(NotFoundError):
            store.get_step_run("nope")
        assert store.get_step_run(step.id) == step

    def test_update_step_run_expect_is_exactly_once_across_threads(self, store: MetadataStore) -> None:
        _, steps = make_run(store, steps=["prep"])

        def start(i: int) -> bool:
            try:
                store.update_step_run(
                    steps[0].id,
                    expect=[StepStatus.QUEUED, StepStatus.NOT_STARTED],
                    status=StepStatus.RUNNING,
                    exit_code=i,
                )
            except ConflictError:
                return False
            return True

        assert sum(run_in_threads(6, start)) == 1

    def test_find_reusable_step_run_picks_the_newest_finished(self, store: MetadataStore) -> None:
        def step_with(key: str, status: StepStatus, created: float) -> StepRunRecord:
            _, steps = make_run(store, created_at=at(created), steps=["s"])
            return store.update_step_run(steps[0].id, status=status, reuse_key=key)

        step_with("k", StepStatus.FINISHED, 1)
        newest_finished = step_with("k", StepStatus.FINISHED, 2)
        step_with("k", StepStatus.FAILED, 3)
        step_with("k", StepStatus.RUNNING, 4)
        step_with("other", StepStatus.FINISHED, 5)
        assert store.find_reusable_step_run("k") == newest_finished
        assert store.find_reusable_step_run("missing") is None

    # -- metrics -------------------------------------------------------------------------
    def test_metrics_keep_logging_order(self, store: MetadataStore) -> None:
        run, steps = make_run(store, steps=["a", "b"])
        a, b = steps
        logged = [
            MetricRecord(run.id, a.id, "loss", 0.9, "scalar", 0, at(1)),
            MetricRecord(run.id, None, "total", 10, "scalar", 0, at(1)),
            MetricRecord(run.id, b.id, "acc", 0.5, "scalar", 0, at(1)),
            MetricRecord(run.id, a.id, "loss", 0.5, "scalar", 1, at(2), step=2**40),
            MetricRecord(run.id, a.id, "table", {"x": 1, "y": [1.5, "two"]}, "row", 0, at(2)),
        ]
        store.add_metrics(logged[:2])
        store.add_metrics([])
        store.add_metrics(logged[2:])
        got = store.list_metrics(run.id)
        assert got == logged
        assert_utc(got[0].logged_at)
        assert store.list_metrics(run.id, a.id) == [logged[0], logged[3], logged[4]]
        assert store.list_metrics(run.id, b.id) == [logged[2]]
        other, _ = make_run(store)
        assert store.list_metrics(other.id) == []
        assert store.next_metric_seqs(run.id, a.id, ["loss", "table", "new"]) == {"loss": 2, "table": 1, "new": 0}
        assert store.next_metric_seqs(run.id, None, ["total", "loss"]) == {"total": 1, "loss": 0}
        assert store.next_metric_seqs(other.id, None, ["loss"]) == {"loss": 0}

    # -- workspace settings --------------------------------------------------------------
    def test_settings_are_none_until_set_then_replaced(self, store: MetadataStore) -> None:
        assert store.get_setting("default_datastore") is None
        store.set_setting("default_datastore", "lake")
        store.set_setting("other", {"a": [1, 2]})
        assert store.get_setting("default_datastore") == "lake"
        store.set_setting("default_datastore", "blobs")
        assert (store.get_setting("default_datastore"), store.get_setting("other")) == ("blobs", {"a": [1, 2]})
