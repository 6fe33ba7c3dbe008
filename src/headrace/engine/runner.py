"""Drives one claimed pipeline run to the end: reuse decisions, parallel dispatch, failure rules.

Failure rules (Azure ML v1 §4.5): with ``continue_on_step_failure=False`` the first failing step
cancels the running steps and nothing new starts; with ``True`` every step that does not depend
(transitively) on a failed step still runs. Steps that cannot run end Canceled, with the reason.

Threads: the run thread makes the first scheduling pass, then only watches for cancellation.
Each step runs on a step thread; when its step ends, that thread records the outcome, makes the
next scheduling pass and runs one of the steps it started itself (the others go to new step
threads), so a chain of steps never waits for a thread handoff. Passes are serialised by one
lock. The state changes of a pass are written in one store transaction, before any step it
started is launched: a step is always recorded Running before its process exists. Steps that
wait only for a step being launched go to its compute target as ``upcoming``, to be staged while
that step's process runs. ``RunExecutor`` is the entry point; ``run_state.RunState`` holds one run's state.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from headrace.datastores.base import Datastore
from headrace.engine.run_state import CANCEL_CHECK_SECONDS, REMOTE_STEP_THREADS, RunState
from headrace.engine.tasks import log_path, output_path
from headrace.logs import get_logger
from headrace.storage.base import MetadataStore
from headrace.storage.records import RunRecord

__all__ = ["CANCEL_CHECK_SECONDS", "REMOTE_STEP_THREADS", "ExecutionSettings", "RunExecutor", "log_path", "output_path"]

logger = get_logger(__name__)


@dataclass(frozen=True)
class ExecutionSettings:
    max_parallel_steps: int = 2
    step_timeout_seconds: float | None = None
    small_file_bytes: int = 1 << 20


class RunExecutor:
    """Executes claimed runs against compute targets, recording everything in the store."""

    def __init__(
        self,
        store: MetadataStore,
        targets: Any,  # name -> ComputeTarget: a dict, or a TargetRegistry (per-target limits)
        artifacts: Datastore,
        resolve_datastore: Callable[[str], Datastore],
        settings: ExecutionSettings,
    ):
        self.store = store
        self.targets = targets
        self.artifacts = artifacts
        self.resolve_datastore = resolve_datastore
        self.settings = settings
        # Run id -> work done before a run whose steps all finished is recorded Finished (waiters see it after).
        self.before_finished: list[Callable[[str], None]] = []
        # The models a step's script asked to register, done when it ends, before it is recorded Finished: each
        # gets (run, step name, step run id, output locations, requests) and returns the problems (which fail it).
        self.register_models: list[Callable[[RunRecord, str, str, dict[str, Any], list[dict[str, Any]]],
                                            list[str]]] = []

    def cleanup(self, run_id: str) -> None:
        """Let every compute target drop the run's scratch data."""
        for target in self.targets.values():
            try:
                target.cleanup(run_id)
            except Exception:  # cleanup must never fail a run
                logger.exception("cleanup of run %s on target %s failed", run_id, target.name)

    def execute(self, run: RunRecord, cancel_event: threading.Event | None = None,
                interrupt_event: threading.Event | None = None) -> RunRecord:
        """Run every step of ``run`` (already Running and owned by the caller); return the final record.

        ``cancel_event`` cancels the run. ``interrupt_event`` (the agent is shutting down) stops the
        running steps and puts the run back in the queue: finished steps are kept, the others run
        again when an agent claims it.
        """
        state = RunState(self, run, cancel_event or threading.Event())
        state.interrupt_event = interrupt_event or threading.Event()
        return state.drive()
