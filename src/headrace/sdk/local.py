"""The local backend: SDK calls served in-process by the services, with an in-process agent.

A later remote backend (HTTP client) offers the same methods, so SDK classes never know
which one they talk to.
"""

from __future__ import annotations

import atexit
import gc
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from headrace import clock
from headrace.config import Settings
from headrace.datastores.base import Datastore
from headrace.engine.agent import Agent
from headrace.errors import HeadraceError
from headrace.logs import get_logger
from headrace.sdk.local_modules import LocalModules
from headrace.sdk.local_publishing import LocalPublishing
from headrace.sdk.paging import RUN_PAGE
from headrace.sdk.runs.backends import LocalTracking
from headrace.services import cloud_datastores
from headrace.services import compute as compute_service
from headrace.services import datastores as ds_service
from headrace.services import runs as run_service
from headrace.services.bundle import Services
from headrace.storage.records import (
    ComputeTargetRecord,
    DatastoreRecord,
    ExperimentRecord,
    RunRecord,
    StepRunRecord,
)
from headrace.wiring import build_agent, build_dispatcher, build_services

logger = get_logger(__name__)

_backends: dict[tuple[str, str], LocalBackend] = {}
_backends_lock = threading.Lock()
_exit_hook_registered = False


def _drain_all_at_exit() -> None:
    for backend in list(_backends.values()):
        backend.drain_at_exit()
    # The interpreter's last garbage collection walks every object of the ~650 modules loaded by now:
    # ~0.1 s of a script's exit. Nothing needs it (objects are still freed by reference counts, and
    # Python promises no finalizer at exit), so the objects are moved out of its reach, as
    # prefork servers do with ``gc.freeze()``.
    gc.freeze()


def _register_exit_hook() -> None:
    """Wait for submitted runs while the interpreter can still run them.

    ``atexit`` callbacks come too late: by then ``concurrent.futures`` refuses new work (the
    engine's step threads) and, from Python 3.12, no thread may start. Threading's own exit
    hooks run first, before non-daemon threads are joined, in reverse order of registration (so
    before ``concurrent.futures``' hook, registered when it was imported).
    """
    register = getattr(threading, "_register_atexit", None)
    try:
        if register is not None:
            register(_drain_all_at_exit)
            return
    except RuntimeError:  # the interpreter is already shutting down
        pass
    atexit.register(_drain_all_at_exit)


def local_backend(settings: Settings) -> LocalBackend:
    """One backend (and so one in-process agent) per home and database in a process."""
    key = (str(settings.home), settings.effective_db_url)
    with _backends_lock:
        backend = _backends.get(key)
        if backend is None:
            backend = _backends[key] = LocalBackend(build_services(settings))
        return backend


class LocalBackend(LocalPublishing, LocalModules, LocalTracking):
    """Serves SDK calls from the local home."""

    is_local = True

    def __init__(self, services: Services):
        self.svc = services
        self._agent: Agent | None = None
        self._submitted: list[str] = []
        self.sweeps: list[threading.Thread] = []  # sweep drivers started here (see sdk/runs/sweep.py)
        self._lock = threading.Lock()

    @property
    def home(self) -> Path:
        return self.svc.home

    # -- agent ---------------------------------------------------------------------------
    def ensure_agent(self) -> Agent:
        """Start the in-process agent (once) so queued runs proceed without a server."""
        with self._lock:
            if self._agent is None:
                self._agent = build_agent(self.svc)
                self._agent.start()
                # Events of this process's runs reach webhooks and triggers without a server.
                self._dispatcher = build_dispatcher(self.svc, requeue_on_start=False)
                self._dispatcher.start()
                global _exit_hook_registered
                with _backends_lock:
                    if not _exit_hook_registered:
                        _register_exit_hook()
                        _exit_hook_registered = True
            return self._agent

    def close(self) -> None:
        """Stop what this backend started (its agent, putting its runs back in the queue, and its events
        dispatcher) and close its store; a later SDK call on the same home opens a new backend."""
        with self._lock:
            agent, self._agent = self._agent, None
            dispatcher = getattr(self, "_dispatcher", None)
            self._dispatcher = None
        if agent is not None:
            agent.stop(wait=True)
        if dispatcher is not None:
            dispatcher.stop(timeout=5)
        with _backends_lock:
            for key in [k for k, b in _backends.items() if b is self]:
                del _backends[key]
        self.svc.store.close()

    def drain_at_exit(self) -> None:
        """Let runs this process submitted finish before the interpreter exits (their agent lives here).

        Ctrl+C stops the agent, which puts them back in the queue with their finished steps kept.
        """
        agent = self._agent
        if agent is None:
            return
        try:
            for driver in list(self.sweeps):  # a sweep submits trials until it ends: let it end first
                driver.join()
        except KeyboardInterrupt:
            for driver in self.sweeps:
                driver.stop_event.set()
        pending = [r for r in self._submitted if not self.svc.store.get_run(r).status.is_terminal]
        if pending:
            print(f"headrace: waiting for {len(pending)} run(s) submitted by this process to finish "
                  "(Ctrl+C to stop: they go back to the queue, and `headrace agent` or the next "
                  "submit resumes them)", file=sys.stderr, flush=True)
            try:
                events = self.svc.run_events
                while True:
                    marker = events.generation
                    if all(self.svc.store.get_run(r).status.is_terminal for r in pending):
                        break
                    events.wait(marker, 0.5)
            except KeyboardInterrupt:
                agent.stop(wait=True, interrupt=True)
                print(f"headrace: stopped; {len(pending)} run(s) back in the queue", file=sys.stderr, flush=True)
                return
            for run_id in pending:
                run = self.svc.store.get_run(run_id)
                reason = f": {run.error}" if run.error else ""
                print(f"headrace: run {run_id} {run.status.value}{reason}", file=sys.stderr, flush=True)
        agent.stop(wait=False)
        dispatcher = getattr(self, "_dispatcher", None)
        if dispatcher is not None:  # one last pass while threads may still start: the runs' events go out
            try:
                dispatcher.run_pending()
            except Exception as exc:  # noqa: BLE001 - at exit; what is left goes out from the next process
                print(f"headrace: webhook deliveries left for later: {exc}", file=sys.stderr, flush=True)
            dispatcher.stop(timeout=5)

    # -- runs ----------------------------------------------------------------------------
    def submit_pipeline(self, pipeline: Any, experiment_name: str, **options: Any) -> RunRecord:
        if self.svc.agent_in_process:
            self.ensure_agent()
        run = run_service.submit_pipeline(self.svc, pipeline, experiment_name, **options)
        self._submitted.append(run.id)
        return run

    def get_run(self, run_id: str) -> RunRecord:
        return self.svc.store.get_run(run_id)

    def list_runs(self, experiment_name: str | None = None, limit: int = 100) -> list[RunRecord]:
        return list(self.iter_runs(experiment_name, limit=limit))

    def iter_runs(self, experiment_name: str | None = None, *, limit: int | None = None,
                  tags: dict[str, str] | None = None) -> Iterator[RunRecord]:
        """Runs newest first, page by page (all of them unless ``limit``)."""
        cursor, seen = None, 0
        while limit is None or seen < limit:
            size = RUN_PAGE if limit is None else min(RUN_PAGE, limit - seen)
            page, cursor = self.svc.store.list_runs(experiment_name=experiment_name, tags=tags, limit=size,
                                                    cursor=cursor)
            yield from page
            seen += len(page)
            if cursor is None:
                return

    def count_runs(self, experiment_names: list[str]) -> dict[str, int]:
        return self.svc.store.count_runs_by_experiment(experiment_names)

    def cancel_run(self, run_id: str) -> RunRecord:
        run = run_service.cancel_run(self.svc, run_id)
        if self._agent is not None:
            self._agent.cancel(run_id)
        return run

    def list_step_runs(self, run_id: str) -> list[StepRunRecord]:
        return self.svc.store.list_step_runs(run_id)

    def get_step_run(self, step_run_id: str) -> StepRunRecord:
        return self.svc.store.get_step_run(step_run_id)

    def find_step_run(self, run_id: str, step: str) -> StepRunRecord:
        return run_service.get_step_run(self.svc, run_id, step)

    def read_step_log(self, step: StepRunRecord, which: str) -> str:
        return run_service.read_step_log(self.svc, step, which)

    def step_metrics(self, step: StepRunRecord) -> dict[str, Any]:
        return run_service.metrics_dict(run_service.step_metrics(self.svc, step))

    def run_metrics(self, run_id: str) -> dict[str, Any]:
        own = [m for m in self.svc.store.list_metrics(run_id) if m.step_run_id is None]
        return run_service.metrics_dict(own)

    # -- experiments and datastores ------------------------------------------------------
    def list_experiments(self) -> list[ExperimentRecord]:
        return self.svc.store.list_experiments()

    def get_experiment(self, name: str) -> ExperimentRecord:
        return self.svc.store.get_experiment(name)

    def datastore(self, name: str) -> Datastore:
        return ds_service.get_datastore(self.svc, name)

    def datastore_record(self, name: str) -> DatastoreRecord:
        return self.svc.store.get_datastore(name)

    def register_local_datastore(self, name: str, path: str) -> DatastoreRecord:
        return ds_service.register_local(self.svc, name, path)

    def list_datastores(self) -> list[DatastoreRecord]:
        return ds_service.list_datastores(self.svc)

    def register_cloud_datastore(self, name: str, kind: str, fields: dict, overwrite: bool,
                                 create: bool) -> DatastoreRecord:
        return cloud_datastores.register(self.svc, name, kind, fields, overwrite=overwrite,
                                         create_if_not_exists=create)

    def unregister_datastore(self, name: str) -> None:
        cloud_datastores.unregister(self.svc, name)

    def default_datastore_name(self) -> str:
        return ds_service.default_datastore_name(self.svc)

    def set_default_datastore(self, name: str) -> None:
        ds_service.set_default_datastore(self.svc, name)

    # -- compute targets -------------------------------------------------------------------
    def list_compute_targets(self) -> list[ComputeTargetRecord]:
        return compute_service.list_compute_targets(self.svc)

    def get_compute_target(self, name: str) -> ComputeTargetRecord:
        return compute_service.get_compute_target(self.svc, name)

    def create_compute_target(self, name: str, type: str, config: dict[str, Any],
                              description: str | None = None) -> ComputeTargetRecord:
        return compute_service.create_compute_target(self.svc, name, type, config, description)

    def delete_compute_target(self, name: str) -> None:
        compute_service.delete_compute_target(self.svc, name)

    def wait_interval(self) -> float:
        return 0.05

    def before_wait(self, run_id: str) -> None:
        """Waiting on an unfinished run: make sure an agent will run it (or recover it if its agent died)."""
        if self.svc.agent_in_process and not self.svc.store.get_run(run_id).status.is_terminal:
            self.ensure_agent()

    def change_marker(self) -> int:
        return self.svc.run_events.generation

    def wait_for_change(self, since: int, timeout: float) -> None:
        """Block until a run ends in this process (or ``timeout``): no polling delay at the end of a run."""
        self.svc.run_events.wait(since, timeout)

    def now(self):
        return clock.now()


def describe_error(exc: HeadraceError) -> str:
    return str(exc)
