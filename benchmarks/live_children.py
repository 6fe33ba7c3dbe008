"""What following a running step costs the agent: one poll of a big ``HyperDriveStep`` (``engine.step_streams``).

    .venv/bin/python benchmarks/live_children.py [--trials 20] [--values 2500] [--step-values 20000] [--rounds 20]

The step's context folder holds ``trials`` child runs of ``values`` values each (``children.jsonl``) and
``step-values`` values of the step's own (``metrics.jsonl``), as a long sweep leaves them. Each round appends 5
values per trial and 50 of the step's, then the agent polls (``StepStreams.poll``, as ``RunState`` does every
0.5 s, through the local target's readers). Printed:

- ``poll``: the mean time of a poll that stores a round's new values, against the floor of storing those same
  values straight into the store (``add_metrics``: what the poll must cost at least);
- ``reparse``: what a poll spent before the readers were incremental (reading and parsing both files whole
  and numbering every value again), the same files, no store writes; its ratio to the floor.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from headrace.engine import compute as c
from headrace.engine import run_files
from headrace.engine.step_streams import StepStreams
from headrace.engine.store_writes import until_written
from headrace.engine.tasks import metric_records
from headrace.storage.records import MetricRecord, RunRecord, RunStatus, StepRunRecord, StepStatus
from headrace.storage.sql.store import SqlMetadataStore

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class Target(c.ComputeTarget):
    """The local target's two readers over one context folder (``LocalComputeTarget._tail``)."""

    name = "bench"

    def __init__(self, folder: Path):
        self.metrics = run_files.JsonlTail(folder / c.METRICS_FILE)
        self.children = run_files.JsonlTail(folder / c.CHILDREN_FILE)

    def run(self, task, execution_log, upcoming=()):  # noqa: ANN001 - never called
        raise NotImplementedError

    def cancel(self, step_run_id: str) -> None:
        pass

    def logged_so_far(self, step_run_id: str) -> list[dict]:
        return list(self.metrics.read())

    def children_so_far(self, step_run_id: str) -> list[dict]:
        return run_files.children_from_lines(self.children.read())


def _append(folder: Path, trials: list[str], per_trial: int, step_values: int, start: int) -> None:
    at = NOW.isoformat()
    with open(folder / c.CHILDREN_FILE, "a") as f:
        for i in range(per_trial):
            for trial in trials:
                f.write(json.dumps({"name": "accuracy", "value": (start + i) / 1e4, "child": trial,
                                    "file": c.METRICS_FILE, "at": at, "scope": "step"}) + "\n")
    with open(folder / c.METRICS_FILE, "a") as f:
        for i in range(step_values):
            f.write(json.dumps({"name": "loss", "value": 1 / (start + i + 1), "scope": "step"}) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--values", type=int, default=2500)
    parser.add_argument("--step-values", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store = SqlMetadataStore(f"sqlite:///{root / 'metadata.db'}")
        exp = store.get_or_create_experiment("bench")
        pipeline = store.get_or_create_pipeline("bench", {"steps": []})
        run_id = uuid.uuid4().hex
        run = store.create_run(RunRecord(id=run_id, experiment_id=exp.id, experiment_name=exp.name,
                                         pipeline_id=pipeline.id, status=RunStatus.RUNNING, created_at=NOW,
                                         parameters={}), [StepRunRecord(id="step-run", run_id=run_id, name="sweep",
                                                                        status=StepStatus.RUNNING, created_at=NOW)])
        folder = root / "context"
        folder.mkdir()
        trials = [uuid.uuid4().hex for _ in range(args.trials)]
        with open(folder / c.CHILDREN_FILE, "w") as f:
            for trial in trials:
                f.write(json.dumps({"child": trial, "file": "start", "parent": "sweep", "name": trial[:8],
                                    "at": NOW.isoformat(), "scope": "step"}) + "\n")
        _append(folder, trials, args.values, args.step_values, 0)
        streams, target, stop = StepStreams(store, run), Target(folder), threading.Event()

        def written(write, what):  # noqa: ANN001, ANN202 - RunState._written
            return until_written(write, what, stop)

        t0 = time.perf_counter()
        streams.poll("sweep", "step-run", target, written)
        catch_up = time.perf_counter() - t0
        polls, floors, reparses = [], [], []
        floor_run = store.create_run(RunRecord(id=uuid.uuid4().hex, experiment_id=exp.id, experiment_name=exp.name,
                                               pipeline_id=pipeline.id, status=RunStatus.RUNNING, created_at=NOW,
                                               parameters={}), [])
        for r in range(args.rounds):
            start = args.values + r * 5
            _append(folder, trials, 5, 50, start)
            t0 = time.perf_counter()
            streams.poll("sweep", "step-run", target, written)
            polls.append(time.perf_counter() - t0)
            t0 = time.perf_counter()  # the floor: the same values, stored straight (one insert per run, as the poll)
            for trial in range(args.trials + 1):
                store.add_metrics([MetricRecord(floor_run.id, None, f"m{trial}", i / 10, "scalar", start * 10 + i, NOW)
                                   for i in range(5 if trial < args.trials else 50)])
            floors.append(time.perf_counter() - t0)
            t0 = time.perf_counter()  # before: both files read and parsed whole, every value numbered again
            children = run_files.read_children(folder, quiet=True)
            for child in children:
                metric_records(child["id"], None, child["metrics"])
            metric_records(run.id, "step-run", run_files.jsonl(folder / c.METRICS_FILE, quiet=True))
            reparses.append(time.perf_counter() - t0)
        stored = sum(len(store.list_metrics(t)) for t in trials)
        assert stored == args.trials * (args.values + 5 * args.rounds), stored
        poll, floor, reparse = (statistics.mean(x) for x in (polls, floors, reparses))
        lines = args.trials * (args.values + 5 * args.rounds) + args.step_values + 50 * args.rounds
        print(f"context: {args.trials} trials x {args.values}+ values, {args.step_values}+ step values "
              f"({lines} lines at the end)")
        print(f"first poll (records the {args.trials} trials and every value so far): {catch_up:.3f} s")
        print(f"poll storing a round ({5 * args.trials} trial values + 50 step values): {poll * 1000:.1f} ms; "
              f"floor (the same values stored straight): {floor * 1000:.1f} ms; ratio {poll / floor:.2f}x")
        print(f"before (whole files parsed and numbered, no writes): {reparse * 1000:.1f} ms; "
              f"ratio to the floor {reparse / floor:.2f}x")
        store.close()


if __name__ == "__main__":
    main()
