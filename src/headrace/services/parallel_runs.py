"""Where the ParallelRunSteps of a run stand: mini-batches done, failed and left, read from their stdout.

The driver prints a progress line to the step's stdout now and then (``headrace.core.parallel_run``): every
compute target streams that log back while the step runs, so this works wherever the step runs.
"""

from __future__ import annotations

import os
from typing import Any

from headrace.core.parallel_run import DRIVER_SCRIPT, Progress, last_progress
from headrace.errors import HeadraceError
from headrace.services.bundle import Services
from headrace.services.runs import step_log_path
from headrace.storage.records import StepRunRecord

TAIL_BYTES = 256 * 1024
"""How much of a local stdout is read: progress lines come every second, far more often than this fills."""


def is_parallel_step(graph_step: dict[str, Any]) -> bool:
    """Whether a step of a frozen graph is a ParallelRunStep."""
    return graph_step.get("script_name") == DRIVER_SCRIPT


def step_progress(svc: Services, step: StepRunRecord) -> Progress | None:
    """The last progress a ParallelRunStep's run printed, or None when it printed none (yet)."""
    try:
        path = step_log_path(svc, step, "stdout")
        if path is None:
            return None
        local = svc.artifacts.local_path(path)
        if local is None:
            return last_progress(svc.artifacts.read_bytes(path).decode("utf-8", "replace"))
        with open(local, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            f.seek(max(0, size - TAIL_BYTES))
            text = f.read().decode("utf-8", "replace")
    except (HeadraceError, OSError):  # a log that vanished or cannot be read: no progress to show
        return None
    found = last_progress(text)
    if found is None and len(text) >= TAIL_BYTES:
        return last_progress(svc.artifacts.read_bytes(path).decode("utf-8", "replace"))
    return found


def run_progress(svc: Services, run_id: str, graph: dict[str, Any]) -> dict[str, Progress]:
    """Step name -> progress, for the run's ParallelRunSteps that printed some."""
    parallel = {s["name"] for s in graph.get("steps", []) if is_parallel_step(s)}
    found = {}
    for step in svc.store.list_step_runs(run_id):
        if step.name in parallel and (progress := step_progress(svc, step)) is not None:
            found[step.name] = progress
    return found
