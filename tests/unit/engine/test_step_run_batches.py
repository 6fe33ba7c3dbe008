"""``update_step_runs``: the engine's one write per scheduling pass is ordered and all or nothing."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

import pytest

from headrace.errors import NotFoundError, StoreError
from headrace.storage.records import RunRecord, RunStatus, StepRunRecord, StepStatus
from headrace.storage.sql.store import SqlMetadataStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path):
    s = SqlMetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")
    yield s
    s.close()


@pytest.fixture
def steps(store):
    exp = store.get_or_create_experiment("exp")
    pipeline = store.get_or_create_pipeline("hash", {"steps": []})
    run = RunRecord(id=uuid.uuid4().hex, experiment_id=exp.id, experiment_name=exp.name,
                    pipeline_id=pipeline.id, status=RunStatus.RUNNING, created_at=T0, parameters={})
    records = [StepRunRecord(id=uuid.uuid4().hex, run_id=run.id, name=name, status=StepStatus.NOT_STARTED,
                             created_at=T0) for name in ("a", "b")]
    store.create_run(run, records)
    return records


def test_changes_are_applied_in_order_and_returned(store, steps):
    a, b = steps
    out = store.update_step_runs([
        (a.id, {"status": StepStatus.FINISHED, "exit_code": 0, "ended_at": T0,
                "outputs": {"o": {"datastore": "ds", "path": "p"}}}),
        (b.id, {"status": StepStatus.RUNNING, "started_at": T0, "reuse_key": "k"}),
        (b.id, {"error": "second change to the same step"}),
    ])
    assert [r.id for r in out] == [a.id, b.id, b.id]
    assert out[0].status is StepStatus.FINISHED and out[0].outputs == {"o": {"datastore": "ds", "path": "p"}}
    assert out[2].status is StepStatus.RUNNING and out[2].error == "second change to the same step"
    assert store.get_step_run(b.id) == out[2]
    assert store.update_step_runs([]) == []


def test_one_bad_change_writes_nothing(store, steps):
    a, _ = steps
    with pytest.raises(NotFoundError):
        store.update_step_runs([(a.id, {"status": StepStatus.RUNNING}), ("no-such-step", {"error": "x"})])
    assert store.get_step_run(a.id).status is StepStatus.NOT_STARTED


def test_an_unknown_field_is_refused_before_writing(store, steps):
    a, _ = steps
    with pytest.raises(ValueError, match="cannot update step run field"):
        store.update_step_runs([(a.id, {"status": StepStatus.RUNNING}), (a.id, {"run_id": "another-run"})])
    assert store.get_step_run(a.id).status is StepStatus.NOT_STARTED


def test_the_batch_writes_what_a_single_update_writes(store, steps):
    a, b = steps
    values = {"status": StepStatus.FINISHED, "exit_code": 0, "ended_at": T0, "started_at": T0,
              "outputs": {"o": {"datastore": "ds", "path": "p"}}, "tags": {"k": "v"}, "error": None,
              "properties": {"stderr_tail": "x\n", "output_bytes": {"o": 1}}, "reuse_key": "k" * 64,
              "log_uri": "file:///logs", "reused_from": None}
    batched = store.update_step_runs([(a.id, values)])[0]
    single = store.update_step_run(b.id, **values)
    assert dataclasses.replace(batched, id=b.id, name="b") == single
    assert store.get_step_run(a.id) == batched
    assert batched.ended_at == T0 and batched.ended_at.tzinfo is not None


def test_a_driver_error_is_a_store_error_like_for_a_single_update(store, steps):
    a, b = steps
    with pytest.raises(StoreError, match="update_step_runs"):
        store.update_step_runs([(a.id, {"error": object()})])  # not a value SQLite can bind
    with pytest.raises(StoreError):
        store.update_step_run(b.id, error=object())
    assert store.get_step_run(a.id).error is None
