"""Child runs a script started with ``run.child_run()``: recorded as runs when its step ends.

Inside a step the script has no store access, so a child run lives in the step's context folder
(``CHILDREN_FILE``, written by ``sdk.context``) until the step ends; the agent then records each as an
interactive run whose parent is the run it was started from (the step run, the pipeline run, or another
child), with its metrics, tags and properties. A child the script never ended takes the step's ending.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from headrace.engine.tasks import metric_records
from headrace.errors import AlreadyExistsError
from headrace.storage.base import MetadataStore
from headrace.storage.records import RunKind, RunRecord, RunStatus, StepStatus

EMPTY_GRAPH: dict[str, Any] = {"format": 1, "parameters": {}, "data": {}, "steps": []}
"""The graph of a run no agent executes (interactive runs, child runs, sweeps)."""

_ENDINGS = {"Completed": RunStatus.COMPLETED, "Failed": RunStatus.FAILED, "Canceled": RunStatus.CANCELED}
_STEP_ENDINGS = {StepStatus.FINISHED: RunStatus.COMPLETED, StepStatus.FAILED: RunStatus.FAILED,
                 StepStatus.CANCELED: RunStatus.CANCELED}


def record_children(store: MetadataStore, run: RunRecord, children: list[dict[str, Any]],
                    step_status: StepStatus, ended_at: datetime) -> list[RunRecord]:
    """Record the child runs of a step that ended with ``step_status`` (``run_files.read_children``)."""
    if not children:
        return []
    blob = json.dumps(EMPTY_GRAPH, sort_keys=True, separators=(",", ":"))
    pipeline = store.get_or_create_pipeline(hashlib.sha256(blob.encode()).hexdigest(), dict(EMPTY_GRAPH))
    recorded = []
    for child in children:
        status = _ENDINGS.get(child["status"] or "", _STEP_ENDINGS.get(step_status, RunStatus.CANCELED))
        started = _when(child["started_at"]) or ended_at
        error = child["error"] if status is not RunStatus.COMPLETED else None
        if status is RunStatus.FAILED and child["status"] is None:
            error = "its step failed before the child run ended"
        record = RunRecord(
            id=child["id"], experiment_id=run.experiment_id, experiment_name=run.experiment_name,
            pipeline_id=pipeline.id, status=status, created_at=started, started_at=started,
            ended_at=_when(child["ended_at"]) or ended_at, parameters={}, tags=dict(child["tags"]),
            properties=dict(child["properties"]), description=child["name"], run_source="SDK",
            kind=_kind(child.get("kind")), parent_run_id=child["parent"], error=error)
        try:
            recorded.append(store.create_run(record, []))
        except AlreadyExistsError:
            continue  # recorded by an earlier try of this write
        metrics = metric_records(record.id, None, [{**m, "scope": "child"} for m in child["metrics"]])
        if metrics:
            store.add_metrics(metrics)
    return recorded


def _kind(text: Any) -> RunKind:
    """A sweep a ``HyperDriveStep`` ran is a sweep run; any other child is interactive."""
    return RunKind.SWEEP if text == RunKind.SWEEP.value else RunKind.INTERACTIVE


def _when(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None
