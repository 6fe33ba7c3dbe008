"""``ChildRunSync``: the child runs a running step's script starts are recorded as its context lines come
(Running first, then values, tags and ending), once each even when a write is retried; the step's ending closes
the ones left open; an ending given from outside stands. ``JsonlTail`` reads a growing context file once."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from headrace.engine import compute as c
from headrace.engine.child_runs import ChildRunSync
from headrace.engine.run_files import JsonlTail, children_from_lines
from headrace.storage.records import RunRecord, RunStatus, StepStatus
from headrace.storage.sql.store import SqlMetadataStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
T1 = datetime(2026, 3, 1, 12, 5, tzinfo=UTC)


@pytest.fixture
def store(tmp_path):
    s = SqlMetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")
    yield s
    s.close()


@pytest.fixture
def run(store):
    exp = store.get_or_create_experiment("exp")
    pipeline = store.get_or_create_pipeline("hash", {"steps": []})
    record = RunRecord(id=uuid.uuid4().hex, experiment_id=exp.id, experiment_name=exp.name,
                       pipeline_id=pipeline.id, status=RunStatus.RUNNING, created_at=T0, parameters={})
    return store.create_run(record, [])


def _line(child: str, file: str, **values) -> dict:
    return {"child": child, "file": file, "at": T0.isoformat(), **values}


def test_children_show_as_they_are_logged_and_end_once(store, run):
    sync = ChildRunSync(store, run)
    lines = [_line("a", "start", parent="step-1", name="fold-a"), _line("a", c.METRICS_FILE, name="acc", value=0.5)]
    sync.sync(children_from_lines(lines))
    rec = store.get_run("a")
    assert rec.status is RunStatus.RUNNING and rec.parent_run_id == "step-1" and rec.ended_at is None
    assert [m.value for m in store.list_metrics("a")] == [0.5]

    lines += [_line("a", c.METRICS_FILE, name="acc", value=0.7), _line("a", c.TAGS_FILE, key="k", value="v"),
              _line("b", "start", parent="a", name="inner")]
    sync.sync(children_from_lines(lines))
    sync.sync(children_from_lines(lines))  # a retried write: nothing twice
    assert [(m.value, m.seq) for m in store.list_metrics("a")] == [(0.5, 0), (0.7, 1)]
    assert store.get_run("a").tags == {"k": "v"} and store.get_run("b").parent_run_id == "a"

    lines.append({**_line("a", c.STATUS_FILE, status="Completed"), "at": T1.isoformat()})
    sync.sync(children_from_lines(lines))
    assert store.get_run("a").status is RunStatus.COMPLETED and store.get_run("a").ended_at == T1
    sync.sync(children_from_lines(lines), StepStatus.FAILED, T1)  # the step ends: the open child takes its ending
    inner = store.get_run("b")
    assert inner.status is RunStatus.FAILED and "step failed" in inner.error
    assert store.get_run("a").status is RunStatus.COMPLETED


def test_an_ending_from_outside_stands_and_lost_lines_still_end(store, run):
    sync = ChildRunSync(store, run)
    lines = [_line("a", "start", parent="step-1", name="a"), _line("z", "start", parent="step-1", name="z")]
    sync.sync(children_from_lines(lines))
    store.update_run("a", status=RunStatus.CANCELED, error="canceled on request", ended_at=T0)
    # the step was canceled and its context lost (a killed Dask attempt): what was recorded still ends
    sync.sync([], StepStatus.CANCELED, T1)
    assert store.get_run("a").error == "canceled on request"
    z = store.get_run("z")
    assert z.status is RunStatus.CANCELED and "canceled" in z.error


def test_a_second_sync_object_does_not_record_twice(store, run):
    """An agent that lost its in-memory state (a retry after a crash of the write) finds what is stored."""
    lines = [_line("a", "start", parent="p", name="a"), _line("a", c.METRICS_FILE, name="m", value=1)]
    ChildRunSync(store, run).sync(children_from_lines(lines))
    lines.append(_line("a", c.METRICS_FILE, name="m", value=2))
    ChildRunSync(store, run).sync(children_from_lines(lines), StepStatus.FINISHED, T1)
    assert [m.value for m in store.list_metrics("a")] == [1, 2]
    assert store.get_run("a").status is RunStatus.COMPLETED


def test_a_tail_parses_each_complete_line_once(tmp_path):
    path = tmp_path / "children.jsonl"
    tail = JsonlTail(path)
    assert tail.read() == []  # not written yet
    path.write_text(json.dumps({"n": 1}) + "\n" + '{"n": ')
    assert tail.read() == [{"n": 1}]
    with open(path, "a") as f:
        f.write('2}\n{"n": 3}\n')
    assert tail.read() == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert tail.read() == [{"n": 1}, {"n": 2}, {"n": 3}]


def test_a_sweep_cancelled_from_outside_is_noticed_once(store, run):
    sync = ChildRunSync(store, run)
    lines = [_line("hd", "start", parent="step-1", name="HD", kind="hyperdrive"),
             _line("fold", "start", parent="step-1", name="fold")]
    sync.sync(children_from_lines(lines))
    assert not sync.sweep_ended_outside()
    store.update_run("fold", status=RunStatus.CANCELED, ended_at=T0)  # any other child: the step goes on
    assert not sync.sweep_ended_outside()
    store.update_run("hd", status=RunStatus.CANCELED, ended_at=T0)
    assert sync.sweep_ended_outside() and not sync.sweep_ended_outside()
