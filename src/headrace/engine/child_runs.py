"""Child runs a script started with ``run.child_run()``: recorded as runs while its step runs.

Inside a step the script has no store access, so a child run lives in the step's context folder
(``CHILDREN_FILE``, written by ``sdk.context``). While the step runs, the agent reads that file every
half second (``ComputeTarget.children_so_far``) and ``ChildRunSync`` records each child as an
interactive run (a sweep run for a ``HyperDriveStep``'s sweep) whose parent is the run it was started
from (the step run, the pipeline run, or another child): Running when it starts, then its metrics,
tags, properties and ending as they come. When the step ends, ``sync`` runs once more with the step's
ending, which a child the script never ended takes (a target that cannot tell what a running step
logged gives everything then).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from headrace.engine.tasks import metric_records
from headrace.errors import AlreadyExistsError, ConflictError
from headrace.storage.base import MetadataStore
from headrace.storage.records import RunKind, RunRecord, RunStatus, StepStatus

EMPTY_GRAPH: dict[str, Any] = {"format": 1, "parameters": {}, "data": {}, "steps": []}
"""The graph of a run no agent executes (interactive runs, child runs, sweeps)."""

_ENDINGS = {"Completed": RunStatus.COMPLETED, "Failed": RunStatus.FAILED, "Canceled": RunStatus.CANCELED}
_STEP_ENDINGS = {StepStatus.FINISHED: RunStatus.COMPLETED, StepStatus.FAILED: RunStatus.FAILED,
                 StepStatus.CANCELED: RunStatus.CANCELED}


class ChildRunSync:
    """Keeps the store's child runs of one step run in line with what its script logged so far.

    ``sync`` may be called again with the same lines (a retried write): only what it has not written
    yet is written.
    """

    def __init__(self, store: MetadataStore, run: RunRecord):
        self.store, self.run = store, run
        # child id -> {"metrics" (how many stored), "tags", "properties", "ended", "sweep" (a sweep run)}
        self.written: dict[str, dict[str, Any]] = {}
        self._pipeline_id: str | None = None

    def sync(self, children: list[dict[str, Any]], step_status: StepStatus | None = None,
             ended_at: datetime | None = None) -> None:
        """Write what changed in ``children`` (``run_files.read_children``); with ``step_status`` (the step
        ended, at ``ended_at``) every child still open ends as the step did."""
        for child in children:
            state = self.written.get(child["id"])
            if state is None:
                state = self._create(child, step_status, ended_at)
            else:
                self._update(child, state, step_status, ended_at)
            self._add_metrics(child, state)
        if step_status is not None:  # children recorded earlier that the final lines lack (a lost context)
            seen = {child["id"] for child in children}
            for child_id, state in self.written.items():
                if child_id not in seen and not state["ended"]:
                    self._end(child_id, state, *_step_ending(step_status), ended_at)

    def _create(self, child: dict[str, Any], step_status: StepStatus | None, ended_at: datetime | None
                ) -> dict[str, Any]:
        status, error = _ending(child, step_status)
        started = _when(child["started_at"]) or ended_at
        ended = None if status is RunStatus.RUNNING else _when(child["ended_at"]) or ended_at
        record = RunRecord(
            id=child["id"], experiment_id=self.run.experiment_id, experiment_name=self.run.experiment_name,
            pipeline_id=self._pipeline(), status=status, created_at=started, started_at=started,
            ended_at=ended, parameters={}, tags=dict(child["tags"]), properties=dict(child["properties"]),
            description=child["name"], run_source="SDK", kind=_kind(child.get("kind")),
            parent_run_id=child["parent"], error=error)
        try:
            self.store.create_run(record, [])
        except AlreadyExistsError:  # recorded by an earlier try of this write: bring it up to date
            stored = self.store.get_run(record.id)
            state = self.written[child["id"]] = {
                "metrics": len(self.store.list_metrics(record.id)), "tags": dict(stored.tags),
                "properties": dict(stored.properties), "ended": stored.status.is_terminal,
                "sweep": record.kind is RunKind.SWEEP}
            self._update(child, state, step_status, ended_at)
            return state
        state = self.written[child["id"]] = {"metrics": 0, "tags": dict(child["tags"]),
                                             "properties": dict(child["properties"]),
                                             "ended": status is not RunStatus.RUNNING,
                                             "sweep": record.kind is RunKind.SWEEP}
        return state

    def sweep_ended_outside(self) -> bool:
        """Whether an open sweep recorded here was ended from outside (cancelled in the UI or the SDK): the step
        is that sweep, so it should stop too."""
        for child_id, state in self.written.items():
            if state["sweep"] and not state["ended"] and self.store.get_run(child_id).status.is_terminal:
                state["ended"] = True
                return True
        return False

    def _update(self, child: dict[str, Any], state: dict[str, Any], step_status: StepStatus | None,
                ended_at: datetime | None) -> None:
        if child["tags"] != state["tags"] or child["properties"] != state["properties"]:
            now = self.store.get_run(child["id"])
            self.store.update_run(child["id"], tags={**now.tags, **child["tags"]},
                                  properties={**now.properties, **child["properties"]})
            state["tags"], state["properties"] = dict(child["tags"]), dict(child["properties"])
        status, error = _ending(child, step_status)
        if status is not RunStatus.RUNNING and not state["ended"]:
            self._end(child["id"], state, status, error, _when(child["ended_at"]) or ended_at)

    def _end(self, child_id: str, state: dict[str, Any], status: RunStatus, error: str | None,
             ended_at: datetime | None) -> None:
        try:
            self.store.update_run(child_id, expect=[RunStatus.RUNNING], status=status, error=error,
                                  ended_at=ended_at)
        except ConflictError:  # ended from outside meanwhile (cancelled in the UI): that ending stands
            pass
        state["ended"] = True

    def _add_metrics(self, child: dict[str, Any], state: dict[str, Any]) -> None:
        if len(child["metrics"]) <= state["metrics"]:
            return
        done, seqs = state["metrics"], state.get("seqs")
        if seqs is None:  # values numbered per name so far (counted once, then kept up to date)
            seqs = state["seqs"] = {}
            for m in child["metrics"][:done]:
                seqs[(m["name"], False)] = seqs.get((m["name"], False), 0) + 1
        new = metric_records(child["id"], None, [{**m, "scope": "child"} for m in child["metrics"][done:]], dict(seqs))
        self.store.add_metrics(new)
        for record in new:
            seqs[(record.name, False)] = record.seq + 1
        state["metrics"] = len(child["metrics"])

    def _pipeline(self) -> str:
        if self._pipeline_id is None:
            blob = json.dumps(EMPTY_GRAPH, sort_keys=True, separators=(",", ":"))
            self._pipeline_id = self.store.get_or_create_pipeline(hashlib.sha256(blob.encode()).hexdigest(),
                                                                  dict(EMPTY_GRAPH)).id
        return self._pipeline_id


def end_lost_children(store: MetadataStore, parent_ids: list[str], error: str, ended_at: datetime) -> int:
    """Fail every child run (and theirs) of ``parent_ids`` not ended yet: the attempt that recorded them was lost
    with its agent, and nothing else would ever end them. Returns how many were ended."""
    ended, pending = 0, list(parent_ids)
    while pending:
        parent, cursor = pending.pop(), None
        while True:
            page, cursor = store.list_runs(parent_run_id=parent, limit=500, cursor=cursor)
            for child in page:
                pending.append(child.id)
                if child.status.is_terminal:
                    continue
                try:
                    store.update_run(child.id, expect=[child.status], status=RunStatus.FAILED, error=error,
                                     ended_at=ended_at)
                    ended += 1
                except ConflictError:  # ended meanwhile: that ending stands
                    pass
            if cursor is None:
                break
    return ended


def _ending(child: dict[str, Any], step_status: StepStatus | None) -> tuple[RunStatus, str | None]:
    """How the child stands: its own ending, else the step's when the step ended, else Running."""
    status = _ENDINGS.get(child["status"] or "")
    if status is not None:
        return status, child["error"] if status is not RunStatus.COMPLETED else None
    if step_status is None:
        return RunStatus.RUNNING, None
    return _step_ending(step_status)


def _step_ending(step_status: StepStatus) -> tuple[RunStatus, str | None]:
    status = _STEP_ENDINGS.get(step_status, RunStatus.CANCELED)
    if status is RunStatus.FAILED:
        return status, "its step failed before the child run ended"
    if status is RunStatus.CANCELED:
        return status, "its step was canceled before the child run ended"
    return status, None


def _kind(text: Any) -> RunKind:
    """A sweep a ``HyperDriveStep`` ran is a sweep run; any other child is interactive."""
    return RunKind.SWEEP if text == RunKind.SWEEP.value else RunKind.INTERACTIVE


def _when(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None
