"""The "dask" compute target: each step a Dask task on an existing Dask cluster.

The agent keeps one ``distributed.Client`` per target and, for each step, submits
``dask_worker.run_step`` with everything the worker needs: the task, the artifact area and the
datastores the step reads or writes (objects that reach their storage by URL and credentials;
nothing assumes the agent's disk). The step's thread on the agent waits for the task and
watches it:

- the worker reports each attempt's start, log lines and child-run lines as Dask events (topic
  ``headrace-steps``), so the child runs a step's script starts show while it runs (``children_so_far``);
  the agent keeps the execution log current in the artifact area, and the worker copies stdout
  and stderr there while the step runs, so the live tail works as for local steps;
- a worker that dies mid-step: the scheduler runs the task again on another worker; each attempt
  is recorded in the execution log, and when more attempts start than ``retries`` allows, the step
  is stopped (its process killed) and fails saying so;
- cancel: ``kill_step`` runs on every worker (kills the step's process group) and the task is
  released; a timeout is enforced on the worker, which kills the process;
- policy when the scheduler cannot be reached: the step fails after ``connect_timeout`` seconds
  naming the address; when the cluster has no worker at all for ``no_worker_timeout`` seconds the
  step fails saying so. Steps wait queued in Dask while the workers are busy.
- resources (the target's, with the step's on top, ``core.resources``) go with the task: a step asking
  what no worker of the cluster declares fails at once, naming the resources and what each worker
  declares; one whose fitting workers all leave while it waits says so in the execution log and fails
  after ``no_worker_timeout`` like a step of a cluster without workers.
"""

from __future__ import annotations

import json
import os
import re
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import CancelledError
from dataclasses import replace
from typing import Any

from headrace import clock
from headrace.core.dataset import decode_manifest
from headrace.core.resources import describe, fits
from headrace.datastores.base import Datastore
from headrace.engine import compute as c
from headrace.engine import dask_worker, step_models
from headrace.engine.dask_dispatch import Dispatch
from headrace.errors import ComputeError, HeadraceError
from headrace.logs import get_logger
from headrace.storage.records import StepStatus

logger = get_logger(__name__)

WAIT_SECONDS = 0.5
"""How often a waiting step thread looks at cancel requests, worker counts and new log lines."""
QUEUED_LOG_SECONDS = 5.0
"""Seconds a queued step waits before its execution log (its submission) is written; a started one is first
written ``log_seconds`` after its start (each write is a request to the artifact area)."""


def unreachable_local(local: str | None, mounted: Sequence[str]) -> bool:
    """Whether a store at local folder ``local`` (None: not local) is out of the workers' reach."""
    if local is None:
        return False
    real = os.path.normpath(local)
    return not any(real == m or real.startswith(m.rstrip("/") + "/") for m in mounted)


class DaskComputeTarget(c.ComputeTarget):
    """Runs steps on the Dask cluster whose scheduler is at ``address``.

    Args:
        name: the target's name.
        address: the scheduler, ``tcp://host:8786``.
        artifacts: the artifact area (must be reachable from the workers).
        resolve_datastore: returns the datastore registered under a name.
        resources: Dask resources every step asks for (``{"GPU": 1}``).
        connect_timeout: seconds to reach the scheduler before a step fails.
        retries: how often a step whose worker died runs again elsewhere.
        mounted_paths: local folders every worker mounts at the same path (local stores allowed there).
        no_worker_timeout: seconds a step waits while the cluster has no worker before it fails.
        step_env: as ``LocalComputeTarget``'s (a flow step's connections).
        step_launch: how workers start step processes ("fork" or "spawn", see ``launcher``).
        log_seconds: how often a worker copies a running step's stdout/stderr to the artifact area.
    """

    remote = True
    places_by_resources = True

    def __init__(self, name: str, address: str, artifacts: Datastore, resolve_datastore: Callable[[str], Datastore],
                 *, resources: Mapping[str, float] | None = None, connect_timeout: float = 10.0, retries: int = 1,
                 mounted_paths: Sequence[str] = (), no_worker_timeout: float = 300.0,
                 step_env: Callable[[Mapping[str, str]], Mapping[str, str]] | None = None,
                 step_launch: str = "fork", log_seconds: float = 1.0):
        self.name = name
        self.address = address
        self.artifacts = artifacts
        self.resolve_datastore = resolve_datastore
        self.resources = dict(resources or {})
        self.connect_timeout = connect_timeout
        self.retries = retries
        self.mounted_paths = [os.path.normpath(p) for p in mounted_paths]
        self.no_worker_timeout = no_worker_timeout
        self.step_env = step_env
        self.step_launch = step_launch
        self.log_seconds = log_seconds
        self._client: Any = None
        self._client_lock = threading.Lock()
        # (when asked, each worker's resources): one answer for all waiting steps
        self._workers: tuple[float, list[dict[str, float]]] = (-1e9, [])
        # The last failed connection: steps asking within connect_timeout of it fail at once with its error,
        # instead of each waiting connect_timeout in turn.
        self._failure: tuple[float, ComputeError] | None = None
        self._active: dict[str, Dispatch] = {}  # by step run id
        self._lock = threading.Lock()

    # -- interface -----------------------------------------------------------------------
    def run(self, task: c.StepTask, execution_log: list[str],
            upcoming: Sequence[c.UpcomingStep] = ()) -> c.StepOutcome:
        started = clock.now()
        dispatch = Dispatch(task, uuid.uuid4().hex, execution_log)
        with self._lock:
            self._active[task.step_run_id] = dispatch
        try:
            resources = self.resources_for(task)
            try:
                payload = self._payload(replace(task, resources=resources), dispatch)
                client = self.client()
                self._check_fit(client, task, resources)
                future = client.submit(dask_worker.run_step, payload, key=_key(task, dispatch.id), pure=False,
                                       resources=resources or None)
            except HeadraceError as exc:
                execution_log.append(f"not sent to Dask target {self.name!r}: {exc}")
                self._write_log(dispatch)
                return c.StepOutcome(StepStatus.FAILED, started, clock.now(), error=str(exc))
            execution_log.append(f"sent to Dask target {self.name!r} (scheduler {self.address}) as task "
                                 f"{future.key[0]}" + (f", resources {resources}" if resources else ""))
            dispatch.changed = True  # written when due (``_log_due``), or with the outcome
            outcome = self._wait(client, future, dispatch, started)
        finally:
            with self._lock:
                self._active.pop(task.step_run_id, None)
        self._write_log(dispatch)
        return outcome

    def resources_for(self, task: c.StepTask) -> dict[str, float]:
        """The target's resources with the step's own on top (the step wins per key)."""
        return {**self.resources, **task.resources}

    def cancel(self, step_run_id: str) -> None:
        with self._lock:
            dispatch = self._active.get(step_run_id)
        if dispatch is not None:
            dispatch.canceled = True
            dispatch.event.set()

    def children_so_far(self, step_run_id: str) -> list[dict[str, Any]]:
        """The child runs the step's latest attempt started so far (its worker sends their lines as events)."""
        with self._lock:
            dispatch = self._active.get(step_run_id)
        if dispatch is None:
            return []
        with dispatch.lock:
            attempt = next(reversed(dispatch.attempts), None)
            log = dispatch.children.get(attempt) if attempt is not None else None
            return [] if log is None else log.snapshot()  # events add to it on the client's thread

    def serve_models(self, step_run_id: str, store: Any) -> int:
        """Resolve the model requests the step's worker forwarded and leave each answer in the artifact area,
        where the worker finds it and copies the files (``step_models``; workers reach the artifact area)."""
        with self._lock:
            dispatch = self._active.get(step_run_id)
        if dispatch is None:
            return 0
        with dispatch.lock:
            requests, dispatch.model_requests = dispatch.model_requests, []
        for request in requests:
            resolved = step_models.resolve(request, store)
            self.artifacts.write_bytes(step_models.answer_path(str(request.get("id"))), json.dumps(resolved).encode())
        return len(requests)

    def close(self) -> None:
        """Close the connection to the scheduler (the cluster keeps running)."""
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    # -- the client ----------------------------------------------------------------------
    def client(self) -> Any:
        """The connected ``distributed.Client`` (connecting on first use, again after a loss).

        Raises:
            ComputeError: the scheduler cannot be reached within ``connect_timeout``, naming its address.
        """
        with self._client_lock:
            if self._client is not None and self._client.status in ("running", "connecting"):
                return self._client
            from distributed import Client

            if self._failure is not None and clock.monotonic() - self._failure[0] < self.connect_timeout:
                raise ComputeError(str(self._failure[1]))
            if self._client is not None:
                self._client.close()
                self._client = None
            try:
                client = Client(self.address, timeout=self.connect_timeout, set_as_default=False)
            except (OSError, TimeoutError) as exc:
                error = ComputeError(f"cannot reach the Dask scheduler at {self.address} (compute target "
                                     f"{self.name!r}) within {self.connect_timeout:g}s: {exc}")
                self._failure = (clock.monotonic(), error)
                raise error from exc
            self._failure = None
            client.subscribe_topic(dask_worker.TOPIC, self._on_event)
            self._client = client
            return client

    def _on_event(self, event: tuple[float, dict[str, Any]]) -> None:
        """A worker's news about a step attempt (called on the client's thread)."""
        msg = event[1]
        with self._lock:
            dispatch = self._active.get(msg.get("step", ""))
        if dispatch is None or msg.get("dispatch") != dispatch.id:
            return
        dispatch.record(msg, self.retries)

    # -- steps of run() ------------------------------------------------------------------
    def _payload(self, task: c.StepTask, dispatch: Dispatch) -> dict[str, Any]:
        """What the worker gets. Raises: ComputeError naming a store the workers cannot reach."""
        names = {b.datastore for b in (*task.inputs.values(), *task.outputs.values()) if b.dataset is None}
        for binding in task.inputs.values():
            if binding.dataset is not None:  # a dataset's files may sit on several datastores
                entries = decode_manifest(self.artifacts.read_bytes(binding.dataset["manifest"]))
                names.update(e.datastore for e in entries)
        stores = {name: self.resolve_datastore(name) for name in sorted(names)}
        hint = "use an object store, or add the folder to the target's mounted_paths if every worker mounts it"
        if unreachable_local(self.artifacts.local_path(""), self.mounted_paths):
            raise ComputeError(f"the artifact area is a local folder the workers of {self.name!r} cannot reach; {hint}")
        for name, store in stores.items():
            if unreachable_local(store.local_path(""), self.mounted_paths):
                raise ComputeError(f"datastore {name!r} is a local folder the workers of {self.name!r} cannot "
                                   f"reach; {hint}")
        env = dict(self.step_env(task.env)) if self.step_env is not None else {}
        return {"task": replace(task, env={**env, **task.env}), "artifacts": self.artifacts, "datastores": stores,
                "dispatch": dispatch.id, "retries": self.retries, "launch": self.step_launch,
                "log_seconds": self.log_seconds}

    def _wait(self, client: Any, future: Any, dispatch: Dispatch, started: Any) -> c.StepOutcome:
        future.add_done_callback(lambda _f: dispatch.event.set())
        no_workers_since: float | None = None
        last_write = clock.monotonic()
        while not future.done():
            dispatch.event.wait(WAIT_SECONDS)
            if dispatch.canceled:
                return self._kill(client, future, dispatch, started)
            if dispatch.exhausted:
                self._kill(client, future, dispatch, started)
                return self._failed(dispatch, started, dispatch.exhausted)
            now = clock.monotonic()
            if self._log_due(dispatch, last_write, now) and not future.done():
                self._write_log(dispatch)
                last_write = now
            wanted = self.resources_for(dispatch.task)
            workers = sum(fits(wanted, w) for w in self._worker_resources(client))
            if not workers and no_workers_since is None and wanted:
                dispatch.log.append(f"waiting: no worker of the Dask cluster declares resources {describe(wanted)} "
                                    f"now; the step fails if none joins within {self.no_worker_timeout:g}s")
                dispatch.changed = True
            no_workers_since = None if workers else (no_workers_since or now)
            if no_workers_since is not None and now - no_workers_since >= self.no_worker_timeout:
                future.cancel()
                which = f"no worker declaring resources {describe(wanted)}" if wanted else "no worker"
                return self._failed(dispatch, started, f"the Dask cluster at {self.address} has had {which} for "
                                    f"{self.no_worker_timeout:g}s (no_worker_timeout); start workers and rerun")
        return self._result(future, dispatch, started)

    def _log_due(self, dispatch: Dispatch, last_write: float, now: float) -> bool:
        """Whether the live execution log is to be written now (``last_write``: the last write, or the submission).

        Running: ``log_seconds`` after the attempt started, then at most every ``log_seconds`` while lines
        come; a step shorter than that is written once, with its outcome. Queued: after ``QUEUED_LOG_SECONDS``.
        """
        if not dispatch.changed:
            return False
        if dispatch.attempt_at is None:
            return now - last_write >= max(self.log_seconds, QUEUED_LOG_SECONDS)
        return now - max(last_write, dispatch.attempt_at) >= self.log_seconds

    def _result(self, future: Any, dispatch: Dispatch, started: Any) -> c.StepOutcome:
        try:
            result = future.result()
        except CancelledError:
            return self._failed(dispatch, started, f"the task was dropped: the connection to the Dask scheduler "
                                f"at {self.address} was lost")
        except Exception as exc:  # KilledWorker, or an error the worker raised outside the step
            name = type(exc).__name__
            if name == "KilledWorker":
                why = (f"every worker that ran it died ({exc}); the scheduler gave up "
                       "(distributed.scheduler.allowed-failures)")
            else:
                why = f"the step's task failed on the worker: {name}: {exc}"
            return self._failed(dispatch, started, why)
        attempt, worker = result["attempt"], result["worker"]
        with dispatch.lock:
            dispatch.done = True
            header = dispatch.attempts.get(attempt, (worker, [""]))[1][0]
            # Complete: replaces what the events brought (keeping the attempt's header).
            dispatch.attempts[attempt] = (worker, [header, *result["lines"][1:]] if header else list(result["lines"]))
        outcome: c.StepOutcome | None = result["outcome"]
        if outcome is None:
            lines = result["lines"]
            return self._failed(dispatch, started, lines[-1] if lines else "the worker refused the step")
        missing = [n for n in dispatch.task.outputs if n not in outcome.output_bytes]
        if outcome.status is StepStatus.FINISHED and missing:
            outcome.status, outcome.error = StepStatus.FAILED, f"outputs {missing} were not stored by the worker"
        outcome.started_at = started
        return outcome

    def _kill(self, client: Any, future: Any, dispatch: Dispatch, started: Any) -> c.StepOutcome:
        try:
            client.run(dask_worker.kill_step, dispatch.task.step_run_id, wait=False)
        except Exception as exc:  # the cluster is gone: nothing runs there any more
            logger.info("could not ask the workers to kill step run %s: %s", dispatch.task.step_run_id, exc)
        future.cancel()
        if not dispatch.exhausted:
            dispatch.log.append("canceled: the step's process was killed on its worker")
        return c.StepOutcome(StepStatus.CANCELED, started, clock.now(), error="canceled")

    def _failed(self, dispatch: Dispatch, started: Any, why: str) -> c.StepOutcome:
        dispatch.log.append(why)
        return c.StepOutcome(StepStatus.FAILED, started, clock.now(), error=why)

    def _write_log(self, dispatch: Dispatch) -> None:
        dispatch.changed = False
        text = "\n".join(dispatch.lines()) + "\n"
        try:
            self.artifacts.write_bytes(f"{dispatch.task.log_path}/execution.log", text.encode("utf-8"))
        except HeadraceError:
            logger.exception("could not write the execution log of step run %s", dispatch.task.step_run_id)

    def _worker_resources(self, client: Any, fresh: bool = False) -> list[dict[str, float]]:
        """The resources each worker of the cluster declares (``{}`` for none), asked at most every 2 s whatever
        the number of waiting steps (``fresh``: asked now)."""
        when, found = self._workers
        if not fresh and clock.monotonic() - when < 2.0:
            return found
        try:
            workers = client.scheduler_info(n_workers=-1).get("workers") or {}
            found = [dict(w.get("resources") or {}) for w in workers.values()]
        except Exception:  # a client between connections: count as none (the timeout is long)
            found = []
        self._workers = (clock.monotonic(), found)
        return found

    def _check_fit(self, client: Any, task: c.StepTask, resources: dict[str, float]) -> None:
        """Policy: a step asking resources that no worker of a running cluster declares fails at once (Dask
        would keep its task waiting forever); with no worker at all, it waits as any step (no_worker_timeout).

        Raises:
            ComputeError: naming the resources asked and what each worker declares.
        """
        if not resources:
            return
        workers = self._worker_resources(client, fresh=True)
        if not workers or any(fits(resources, w) for w in workers):
            return
        offered = "; ".join(f"{describe(w) or 'none'}" for w in workers)
        missing = sorted(n for n in resources if not any(fits({n: resources[n]}, w) for w in workers))
        raise ComputeError(f"step {task.step_name!r} asks for resources {describe(resources)}, but no worker of "
                           f"the Dask cluster at {self.address} (compute target {self.name!r}) declares "
                           f"{'them together' if not missing else ', '.join(missing)}; the {len(workers)} "
                           f"worker(s) declare: {offered}. Start a worker with "
                           f"'dask worker ... --resources {describe(resources).replace(', ', ',')}' or ask less")


def _key(task: c.StepTask, dispatch: str) -> tuple[str]:
    """A tuple: the task is its own task group. The scheduler queues a group of over twice its threads and hands a
    worker up to worker-saturation x threads of it (5 of 4 at Dask's default 1.1): 64 steps on 4 workers end
    17/16/16/15, one worker running a last wave alone. Alone, a step goes to a worker at once (16 each)."""
    return (f"headrace-{re.sub(r'[^A-Za-z0-9_.-]', '_', task.step_name)[:60]}-{dispatch[:12]}",)
