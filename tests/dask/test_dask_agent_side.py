"""The agent's side of a Dask step, with no cluster: a fake client, a fake clock and events handed to the
target as its client would.

When the execution log is written: each write is a request to the artifact area, and on an object store the
agent's writes compete with every worker's, so a step is written when there is something to see: its attempt's
lines ``log_seconds`` after it started, its submission once it has waited ``QUEUED_LOG_SECONDS`` in the queue,
and its whole log at the end. And the task's key (its Dask task group).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any

import pytest
from dask.utils import key_split
from distributed.utils import key_split_group

from headrace import clock
from headrace.engine import compute as c
from headrace.engine import dask_target
from headrace.engine.dask_target import DaskComputeTarget
from headrace.storage.records import StepStatus


class _Artifacts:
    def __init__(self) -> None:
        self.writes: list[str] = []

    def local_path(self, path: str) -> None:
        return None

    def write_bytes(self, path: str, data: bytes) -> None:
        if path.endswith("/execution.log"):
            self.writes.append(data.decode())


class _Client:
    def __init__(self) -> None:
        self.future: Future[dict[str, Any]] | None = None

    def submit(self, fn: Any, payload: dict[str, Any], **kwargs: Any) -> Future[dict[str, Any]]:
        future: Future[dict[str, Any]] = Future()
        future.key = kwargs["key"]  # type: ignore[attr-defined]
        self.future = future
        return future

    def scheduler_info(self, n_workers: int = -1) -> dict[str, Any]:
        return {"workers": {"tcp://w": {"resources": {}}}}


class _Clock:
    """Monotonic seconds set by the test; counts reads, so a test knows the step's thread looked again."""

    def __init__(self) -> None:
        self.now = 0.0
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.now


@pytest.fixture
def step(monkeypatch: pytest.MonkeyPatch, wait_until):
    """Starts a step on a target with ``log_seconds=1``; yields (target, artifacts, client, clock, dispatch id)."""
    fake_clock = _Clock()
    monkeypatch.setattr(clock, "monotonic", fake_clock)
    monkeypatch.setattr(dask_target, "WAIT_SECONDS", 0.01)
    artifacts, client = _Artifacts(), _Client()
    target = DaskComputeTarget("t", "tcp://scheduler:8786", artifacts, lambda name: None, log_seconds=1.0)
    monkeypatch.setattr(target, "client", lambda: client)
    task = c.StepTask(run_id="r", step_run_id="sr", step_name="s", experiment_name="e", snapshot_hash="h",
                      script_name="x.py", arguments=[], inputs={}, outputs={}, env={}, log_path="logs/r/sr")
    outcomes: list[c.StepOutcome] = []
    thread = threading.Thread(target=lambda: outcomes.append(target.run(task, ["step 's'"])), daemon=True)
    thread.start()
    wait_until(lambda: client.future is not None, message="the step submitted")
    dispatch = target._active["sr"].id
    yield target, artifacts, client, fake_clock, dispatch
    if client.future is not None and not client.future.done():
        client.future.set_result({"outcome": None, "lines": ["ended by the test"], "worker": "tcp://w",
                                  "attempt": "a1"})
    thread.join(10)


def _ticks(fake_clock: _Clock, wait_until, n: int = 5) -> None:
    """Let the step's thread look at its dispatch ``n`` more times."""
    seen = fake_clock.reads
    wait_until(lambda: fake_clock.reads >= seen + n, message="the step's thread polling")


def _start(target: DaskComputeTarget, dispatch: str) -> None:
    for kind, text in (("started", "running on Dask worker tcp://w"), ("line", "command: python x.py")):
        target._on_event((0.0, {"kind": kind, "step": "sr", "dispatch": dispatch, "attempt": "a1",
                                "worker": "tcp://w", "text": text}))


def _finish(client: _Client) -> None:
    assert client.future is not None
    outcome = c.StepOutcome(StepStatus.FINISHED, clock.now(), clock.now(), 0)
    client.future.set_result({"outcome": outcome, "lines": ["running on Dask worker tcp://w", "done"],
                              "worker": "tcp://w", "attempt": "a1"})


def test_a_step_is_first_written_log_seconds_after_its_attempt_started(step, wait_until):
    target, artifacts, client, fake_clock, dispatch = step
    fake_clock.now = 3.0  # queued 3 s: more than log_seconds, less than QUEUED_LOG_SECONDS
    _ticks(fake_clock, wait_until)
    _start(target, dispatch)
    _ticks(fake_clock, wait_until)
    assert artifacts.writes == []  # not at its start: its lines are shown log_seconds later, or at its end
    fake_clock.now = 4.2
    wait_until(lambda: artifacts.writes, message="the live execution log")
    assert "running on Dask worker tcp://w" in artifacts.writes[0] and "command: python x.py" in artifacts.writes[0]
    _finish(client)
    wait_until(lambda: len(artifacts.writes) == 2, message="the final execution log")
    assert "done" in artifacts.writes[1]


def test_a_step_shorter_than_log_seconds_is_written_once(step, wait_until):
    target, artifacts, client, fake_clock, dispatch = step
    fake_clock.now = 3.0
    _start(target, dispatch)
    _ticks(fake_clock, wait_until)
    fake_clock.now = 3.5
    _ticks(fake_clock, wait_until)
    _finish(client)
    wait_until(lambda: artifacts.writes, message="the final execution log")
    assert len(artifacts.writes) == 1 and "done" in artifacts.writes[0]


def test_a_step_waiting_in_the_queue_shows_its_submission(step, wait_until):
    target, artifacts, client, fake_clock, dispatch = step
    fake_clock.now = dask_target.QUEUED_LOG_SECONDS + 0.1
    wait_until(lambda: artifacts.writes, message="the execution log of a queued step")
    assert "sent to Dask target 't'" in artifacts.writes[0]


def test_each_step_is_its_own_dask_task_group(step):
    """A group of more than twice the cluster's threads is queued on the scheduler, which hands each worker up
    to worker-saturation x threads tasks (5 for 4 threads at Dask's default 1.1): 64 steps then end 17/16/16/15
    on 4 workers, and one runs a fifth wave alone. Each step its own group: assigned at once, 16 each."""
    target, artifacts, client, fake_clock, dispatch = step
    assert client.future is not None
    key = client.future.key  # type: ignore[attr-defined]
    other = dask_target._key(target._active["sr"].task, "0" * 32)
    assert key_split_group(key) != key_split_group(other)
    assert key_split(key) == key_split(other) == "headrace-s"  # one prefix per step name: its learnt duration
