"""What running steps log, stored while they run: their metrics (a sweep's early termination reads them) and
the child runs their scripts start (``child_runs``: a ``HyperDriveStep``'s sweep and trials show live)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from headrace.engine import compute as c
from headrace.engine.child_runs import ChildRunSync
from headrace.engine.tasks import metric_records
from headrace.errors import StoreFullError
from headrace.logs import get_logger
from headrace.storage.base import MetadataStore
from headrace.storage.records import RunRecord, StepStatus

logger = get_logger(__name__)

Written = Callable[[Callable[[], Any], str], Any]
"""``RunState._written``: a store write that must land (retried while the store is full)."""


class StepStreams:
    """Per running step of one run: how many of its metric lines are stored, and its child runs' sync."""

    def __init__(self, store: MetadataStore, run: RunRecord):
        self.store, self.run = store, run
        self.metrics: dict[str, int] = {}  # step name -> its metric lines already stored
        self.seqs: dict[str, dict[tuple[str, bool], int]] = {}  # step name -> values numbered per metric name
        self.children: dict[str, ChildRunSync] = {}

    def poll(self, name: str, step_run_id: str, target: c.ComputeTarget, written: Written) -> None:
        """Store what the running step ``name`` logged since the last poll."""
        lines = target.logged_so_far(step_run_id)
        done = self.metrics.get(name, 0)
        if len(lines) > done:
            new = metric_records(self.run.id, step_run_id, lines[done:], self.seqs.setdefault(name, {}))
            written(lambda: self.store.add_metrics(new), f"recording the metrics of step {name!r}")
            self.metrics[name] = len(lines)
        try:
            children = target.children_so_far(step_run_id)
            if children:
                sync = self._sync(name)
                written(lambda: sync.sync(children), f"recording the child runs of step {name!r}")
                if sync.sweep_ended_outside():  # a HyperDriveStep's sweep cancelled: the step stops with it
                    logger.info("step %s of run %s: its sweep was cancelled; stopping the step", name, self.run.id)
                    target.cancel(step_run_id)
        except StoreFullError:
            raise
        except Exception:  # shown late rather than never: the step's end records them again
            logger.exception("could not record the child runs of running step %s of run %s", name, self.run.id)
        try:
            target.serve_models(step_run_id, self.store)
        except Exception:  # the script waits and says so when it gives up
            logger.exception("could not serve the model requests of running step %s of run %s", name, self.run.id)

    def finish(self, name: str, step_run_id: str, outcome: c.StepOutcome, written: Written) -> None:
        """Store what the step logged that no poll stored, and end its child runs still open as it ended."""
        done = self.metrics.pop(name, 0)
        metrics = metric_records(self.run.id, step_run_id, outcome.metrics[done:], self.seqs.pop(name, {}))
        if metrics:
            written(lambda: self.store.add_metrics(metrics), f"recording the metrics of step {name!r}")
        self.end_children(name, outcome.children, outcome.status, outcome.ended_at, written)

    def end_children(self, name: str, children: list[dict[str, Any]], status: StepStatus, ended_at: datetime,
                     written: Written) -> None:
        """The step ended (or was interrupted: ``status`` Canceled): its child runs take their final state."""
        sync = self.children.pop(name, None)
        if sync is None and not children:
            return
        sync = sync or ChildRunSync(self.store, self.run)
        written(lambda: sync.sync(children, status, ended_at), f"recording the child runs of step {name!r}")

    def _sync(self, name: str) -> ChildRunSync:
        sync = self.children.get(name)
        if sync is None:
            sync = self.children[name] = ChildRunSync(self.store, self.run)
        return sync
