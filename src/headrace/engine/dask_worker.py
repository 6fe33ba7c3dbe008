"""What runs inside a Dask worker for one step: ``run_step`` (a Dask task) and ``kill_step``.

``run_step`` stages and runs the step exactly as the local target does (``LocalComputeTarget``,
one per worker process and artifact area, with its snapshot cache under the worker's local
directory), the script in its own process: it fetches the snapshot from the artifact area, stages
inputs from their datastores, runs, uploads outputs and returns the outcome with its execution-log
lines. While the step runs, its stdout and stderr are copied to the artifact area every
``log_seconds`` (the live tail), and its log lines and the child-run lines of its script (``CHILDREN_FILE``,
so child runs show while it runs) go to the agent as Dask events.

Attempts: a worker that dies mid-step makes the scheduler run the task again elsewhere. Each
attempt announces its start (event ``started``); the agent counts them and stops a step whose attempts
exceed ``retries + 1``, whatever the scheduler's ``allowed-failures``.
A per-worker watchdog process kills the step's process group when its worker dies (``kill -9``):
the retried attempt is then the only one writing its outputs.

When the step's process has ended, its task secedes from the worker's thread pool: uploading its logs and
outputs waits on storage, not on the worker's cores, and the scheduler sends the worker its next step
meanwhile (on an object store, two log uploads per step would otherwise hold each slot 40-130 ms longer).

This module must import cheaply and only what a worker has: the standard library, headrace's
engine and ``distributed`` (imported when a task runs).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from headrace import clock
from headrace.datastores.base import Datastore
from headrace.engine import compute as c
from headrace.engine import run_files, step_models
from headrace.engine.local import LocalComputeTarget
from headrace.errors import HeadraceError
from headrace.logs import get_logger

logger = get_logger(__name__)

TOPIC = "headrace-steps"
"""The Dask event topic step attempts report on (``started``, ``line``)."""

_targets: dict[str, LocalComputeTarget] = {}
_datastores: dict[str, Datastore] = {}
_canceled: set[str] = set()
_lock = threading.Lock()
_slot = threading.local()  # .held: this thread runs a step task that still holds its thread-pool slot

# The watchdog reads "+group" / "-group" lines; at end of input (its worker died) it kills the groups left.
_WATCHDOG = """
import os, signal, sys
groups = set()
for line in sys.stdin:
    line = line.strip()
    if line[:1] == "+": groups.add(int(line[1:]))
    elif line[:1] == "-": groups.discard(int(line[1:]))
for g in groups:
    try: os.killpg(g, signal.SIGKILL)
    except OSError: pass
"""
_watchdog: subprocess.Popen[bytes] | None = None


def run_step(payload: dict[str, Any]) -> dict[str, Any]:
    """The Dask task of one step attempt; returns ``{"outcome", "lines", "worker", "attempt"}``
    (``outcome`` None when it did not run: canceled before it started)."""
    from distributed import get_worker

    worker = get_worker()
    task: c.StepTask = payload["task"]
    artifacts: Datastore = payload["artifacts"]
    attempt = uuid.uuid4().hex[:12]
    with _lock:
        _datastores.update(payload["datastores"])
    lines: list[str] = []
    result: dict[str, Any] = {"outcome": None, "lines": lines, "worker": worker.address, "attempt": attempt}
    if task.step_run_id in _canceled:
        lines.append("not run: canceled before it started")
        return result
    emit = _emitter(worker, task.step_run_id, payload["dispatch"], attempt)
    emit("started", f"running on Dask worker {worker.address} (worker pid {os.getpid()})")
    lines.append(f"running on Dask worker {worker.address} (worker pid {os.getpid()})")
    # The step may use the cluster itself (``distributed.Client()`` reads this): a ParallelRunStep driver starts
    # its further nodes on the other workers, and listens for them on this worker's host.
    task = replace(task, env={"DASK_SCHEDULER_ADDRESS": worker.scheduler.address,
                              c.ENV_DASK_WORKER: worker.address, **task.env,
                              **({c.ENV_DASK_RESOURCES: json.dumps(task.resources)} if task.resources else {})})
    target = _target(artifacts, Path(worker.local_directory) / "headrace", payload["launch"])
    stop = threading.Event()
    tail = threading.Thread(target=_tail_logs, args=(target, task, artifacts, lines, emit, stop, payload),
                            name=f"headrace-tail-{task.step_run_id[:8]}", daemon=True)
    tail.start()
    _slot.held = True
    try:
        outcome = target.run(task, lines)
    finally:
        _slot.held = False
        stop.set()
        tail.join()
        shutil.rmtree(target.stager.workdir(task.run_id, task.step_run_id), ignore_errors=True)
    result["outcome"] = outcome
    return result


async def kill_step(step_run_id: str) -> bool:
    """Run on every worker (``Client.run``, in its event loop: a coroutine may be sent without waiting for
    the answers): kill the step's process if it runs here, and never start it."""
    with _lock:
        _canceled.add(step_run_id)
        targets = list(_targets.values())
    for target in targets:
        target.cancel(step_run_id)
    return True


def _emitter(worker: Any, step_run_id: str, dispatch: str, attempt: str) -> Callable[[str, str], None]:
    def emit(kind: str, text: str) -> None:
        with contextlib.suppress(Exception):  # the agent also gets every line with the result
            worker.log_event(TOPIC, {"kind": kind, "step": step_run_id, "dispatch": dispatch, "attempt": attempt,
                                     "worker": worker.address, "text": text})

    return emit


def _target(artifacts: Datastore, work_root: Path, launch: str) -> LocalComputeTarget:
    """This worker's local target for an artifact area (kept: its snapshot cache is warm)."""
    key = getattr(artifacts, "root_uri", repr(artifacts))
    with _lock:
        target = _targets.get(key)
        if target is None:
            # keep_workdirs: no folder reuse across steps here; run_step removes each step's folder itself.
            # Environments are cached next to the workers' folders: built once per machine (under a file
            # lock), kept when a worker restarts.
            target = LocalComputeTarget(artifacts, _resolve, work_root, keep_workdirs=True, step_launch=launch,
                                        env_root=work_root.parent.parent / "headrace-environments")
            target.process_hook = _watch
            target.writes_execution_log = False  # the agent writes it (its lines come back with the result)
            _targets[key] = target
    return target


def _resolve(name: str) -> Datastore:
    with _lock:
        store = _datastores.get(name)
    if store is None:
        raise HeadraceError(f"datastore {name!r} was not sent with the step to this Dask worker")
    return store


def _watch(group: int, started: bool) -> None:
    """Tell the watchdog about a step's process group (it kills the groups left if this worker dies); once the
    process ended, free the step's slot (``_free_slot``)."""
    _tell_watchdog(group, started)
    if not started:
        _free_slot()


def _free_slot() -> None:
    """Secede the running step's task from the worker's thread pool (once; nothing outside a step task)."""
    if not getattr(_slot, "held", False):
        return
    _slot.held = False
    from distributed import secede

    try:
        secede()
    except Exception:  # not in a Dask task after all: the slot is freed when the task returns
        logger.debug("could not secede the step's task", exc_info=True)


def _tell_watchdog(group: int, started: bool) -> None:
    global _watchdog
    with _lock:
        try:
            if _watchdog is None or _watchdog.poll() is not None:
                _watchdog = subprocess.Popen([sys.executable, "-c", _WATCHDOG], stdin=subprocess.PIPE,
                                             start_new_session=True)
            assert _watchdog.stdin is not None
            _watchdog.stdin.write(f"{'+' if started else '-'}{group}\n".encode())
            _watchdog.stdin.flush()
        except OSError:  # best effort: without it, a step outlives a killed worker
            pass


def _tail_logs(target: LocalComputeTarget, task: c.StepTask, artifacts: Datastore, lines: list[str],
               emit: Callable[[str, str], None], stop: threading.Event, payload: dict[str, Any]) -> None:
    """Copy the step's stdout/stderr to the artifact area while it runs; send new log lines to the agent."""
    every = float(payload.get("log_seconds") or 1.0)
    log_dir = target.stager.log_dir(task.run_id, task.step_run_id, task.log_path)
    workdir = target.stager.workdir(task.run_id, task.step_run_id)
    children = run_files.JsonlTail(workdir / c.CHILDREN_FILE, keep=False)
    models = step_models.Forwarder(workdir, artifacts, lambda text: emit("model-request", text))
    local_logs = artifacts.local_path(task.log_path) is not None  # written in place: nothing to copy
    sizes: dict[str, int] = {}
    copied: dict[str, float] = {}
    sent = 0
    children_at = clock.monotonic()
    while not stop.wait(0.2):
        while sent < len(lines):
            emit("line", lines[sent])
            sent += 1
        with contextlib.suppress(OSError, HeadraceError):  # Model.get_model_path() in the script
            models.poll()
        if clock.monotonic() - children_at >= every:  # the child runs the script started: shown while it runs
            children_at = clock.monotonic()
            new = children.read_new()
            if new:
                emit("children", json.dumps(new, default=str))
        if local_logs:
            continue
        for name in ("stdout.txt", "stderr.txt"):
            path = log_dir / name
            with contextlib.suppress(OSError, HeadraceError):
                size = path.stat().st_size
                # Each copy rewrites the whole object: a log over 1 MiB is copied less often.
                wait = every * max(1.0, size / (1 << 20))
                if size != sizes.get(name, 0) and clock.monotonic() - copied.get(name, 0.0) >= wait:
                    artifacts.write_bytes(f"{task.log_path}/{name}", path.read_bytes())
                    sizes[name], copied[name] = size, clock.monotonic()

