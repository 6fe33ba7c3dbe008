"""The store refuses writes (its disk is full) while a run executes: once it accepts them again,
every run reaches a terminal state, with what it really did, and the agent is left with nothing.

The agent runs a real step process; its store is the real SQL store behind ``FillingStore``,
which refuses chosen writes with ``StoreFullError`` from a given call on, until ``free()``.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from headrace import Pipeline, PipelineData, PythonScriptStep
from headrace.config import load_settings
from headrace.engine.agent import Agent
from headrace.engine.runner import RunExecutor
from headrace.errors import StoreFullError
from headrace.services import runs as run_service
from headrace.storage.records import RunStatus, StepStatus
from headrace.wiring import build_services

WRITES = {"update_run", "update_step_run", "update_step_runs", "add_metrics", "renew_leases", "claim_run",
          "take_over_run", "create_run"}

STEP = r'''
import argparse, os
from headrace import Run
p = argparse.ArgumentParser(); p.add_argument("--out"); a = p.parse_args()
os.makedirs(a.out, exist_ok=True)
open(os.path.join(a.out, "result.txt"), "w").write("done")
Run.get_context().log("rows", 3)
print("step done")
'''


class FillingStore:
    """The store, except that writes fail as on a full disk once ``method`` has been called ``after``
    times, until ``free()``."""

    def __init__(self, inner: Any, method: str, after: int):
        self._inner = inner
        self._method = method
        self._after = after
        self._calls = 0
        self._full = False
        self.refused = threading.Event()
        self.refusals = 0
        self._lock = threading.Lock()

    def free(self) -> None:
        self._full = False

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name not in WRITES:
            return value

        def write(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                if name == self._method:
                    self._calls += 1
                    if self._calls > self._after and not self.refused.is_set():
                        self._full = True
                if self._full:
                    self.refused.set()
                    self.refusals += 1
                    raise StoreFullError(f"metadata store: {name} failed: database or disk is full")
            return value(*args, **kwargs)

        return write


@pytest.fixture
def svc(tmp_path):
    services = build_services(load_settings(home=tmp_path / "home"))
    yield services
    services.store.close()


@pytest.mark.parametrize(("method", "after"), [
    ("update_step_runs", 1),  # the step's end (its Running state was written)
    ("add_metrics", 0),  # what the step logged
    ("update_run", 0),  # the run's end
], ids=["step-end", "metrics", "run-end"])
def test_a_run_ends_once_the_store_accepts_writes_again(svc, write_scripts, wait_until, method, after):
    folder = write_scripts({"step.py": STEP})
    out = PipelineData("out")
    step = PythonScriptStep(name="work", script_name="step.py", source_directory=folder,
                            arguments=["--out", out], outputs=[out], allow_reuse=False)
    run = run_service.submit_pipeline(svc, Pipeline(workspace=None, steps=[step]), "full-disk")

    store = FillingStore(svc.store, method, after)
    executor = RunExecutor(store, svc.executor.targets, svc.artifacts, svc.executor.resolve_datastore,
                           svc.execution)
    agent = Agent(store, executor, lease_seconds=0.3, poll_seconds=0.05)
    agent.start()
    try:
        assert store.refused.wait(30), f"no {method} was refused"
        # The disk stays full a while: the agent's writes (and its heartbeats) are refused again.
        wait_until(lambda: store.refusals >= 5, timeout=30, message="writes to be refused a while")
        assert svc.store.get_run(run.id).status is RunStatus.RUNNING  # nothing recorded it ended
        store.free()
        wait_until(lambda: svc.store.get_run(run.id).status.is_terminal, timeout=30,
                   message="the run to end once the store accepts writes")
        wait_until(lambda: not agent.busy, timeout=10, message="the agent to let go of the run")
    finally:
        store.free()  # a failed wait above must not leave the agent retrying refused writes while it stops
        agent.stop(wait=True)
    ended = svc.store.get_run(run.id)
    assert (ended.status, ended.error, ended.agent_id) == (RunStatus.FINISHED, None, None)
    [rec] = svc.store.list_step_runs(run.id)
    assert (rec.status, rec.exit_code) == (StepStatus.FINISHED, 0)
    assert rec.outputs and rec.ended_at is not None
    assert [(m.name, m.value) for m in svc.store.list_metrics(run.id)] == [("rows", 3)]
