"""The agent: claims queued runs and executes them; recovers runs whose agent died.

Orphan policy (``HEADRACE_AGENT__ORPHAN_POLICY``), applied when an agent starts and on every
lease check: a Running run is orphaned when its agent's lease expired, or when its agent ran
on this host and its process is gone (so recovery after ``kill -9`` needs no waiting).

- ``fail`` (default): steps that were running end Failed ("agent lost"), steps not started
  end Canceled, and the run ends Failed. Nothing is re-executed behind the user's back.
- ``requeue``: steps that were running go back to NotStarted, finished steps are kept, and the
  run returns to Queued so an agent resumes it (the claim counts the new ``attempt``).
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from datetime import timedelta

from headrace import clock
from headrace.engine.child_runs import end_lost_children
from headrace.engine.runner import RunExecutor
from headrace.engine.store_writes import until_written
from headrace.errors import HeadraceError, NotFoundError, StoreFullError
from headrace.logs import get_logger
from headrace.storage.base import MetadataStore
from headrace.storage.records import RunRecord, RunStatus, StepStatus

logger = get_logger(__name__)


def new_agent_id() -> str:
    """``host:pid:random`` — the host and pid let a peer on the same host detect a dead agent."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def agent_is_dead(agent_id: str | None) -> bool:
    """True when ``agent_id`` ran on this host and its process no longer exists."""
    if not agent_id:
        return True
    parts = agent_id.split(":")
    if len(parts) != 3 or parts[0] != socket.gethostname():
        return False
    try:
        pid = int(parts[1])
    except ValueError:
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


class Agent:
    """Claims Queued runs from the store and executes them, several at a time."""

    def __init__(
        self,
        store: MetadataStore,
        executor: RunExecutor,
        *,
        agent_id: str | None = None,
        lease_seconds: float = 30.0,
        poll_seconds: float = 1.0,
        orphan_policy: str = "fail",
        max_concurrent_runs: int = 4,
    ):
        self.store = store
        self.executor = executor
        self.agent_id = agent_id or new_agent_id()
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.orphan_policy = orphan_policy
        self.max_concurrent_runs = max_concurrent_runs
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._interrupt = threading.Event()
        self._active: dict[str, threading.Event] = {}
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._loop_thread: threading.Thread | None = None
        self.on_run_ended: list = []  # callbacks(run_id), e.g. wake in-process waiters

    # -- control -------------------------------------------------------------------------
    def start(self) -> None:
        """Run the claim loop in a background thread."""
        if self._loop_thread is None:
            self._loop_thread = threading.Thread(target=self.run_forever, name="headrace-agent", daemon=True)
            self._loop_thread.start()

    def wake(self) -> None:
        """Tell the loop a run was queued (no polling delay in-process)."""
        self._wake.set()

    def stop(self, wait: bool = True, interrupt: bool = True) -> None:
        """Stop claiming runs. With ``interrupt``, running runs are stopped and put back in the
        queue (finished steps kept) so another agent, or the next start, resumes them."""
        self._stop.set()
        self._wake.set()
        if interrupt:
            self._interrupt.set()
        if wait:
            if self._loop_thread is not None:
                self._loop_thread.join()
            for t in list(self._threads):
                t.join()

    def cancel(self, run_id: str) -> None:
        """Interrupt a run this agent executes (the store's cancel flag covers other agents)."""
        with self._lock:
            ev = self._active.get(run_id)
        if ev is not None:
            ev.set()

    @property
    def busy(self) -> bool:
        with self._lock:
            return bool(self._active)

    # -- loop ----------------------------------------------------------------------------
    def run_forever(self) -> None:
        self._safe_recover()
        next_lease_check = clock.monotonic()
        while not self._stop.is_set():
            self._claim_available()
            if clock.monotonic() >= next_lease_check:
                self._heartbeat()
                self._safe_recover()
                next_lease_check = clock.monotonic() + self.lease_seconds / 3
            self._wake.wait(min(self.poll_seconds, self.lease_seconds / 3))
            self._wake.clear()

    def _claim_available(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                if len(self._active) >= self.max_concurrent_runs:
                    return
            try:
                run = self.store.claim_run(self.agent_id, self._lease_until())
            except HeadraceError:
                logger.exception("agent %s could not claim a run", self.agent_id)
                return
            if run is None:
                return
            self._launch(run)

    def _launch(self, run: RunRecord) -> None:
        ev = threading.Event()
        with self._lock:
            self._active[run.id] = ev
        t = threading.Thread(target=self._execute, args=(run, ev), name=f"run-{run.id[:8]}", daemon=True)
        self._threads.append(t)
        t.start()

    def run_once(self, run_id: str | None = None) -> RunRecord | None:
        """Claim one queued run and execute it in this thread (tests, ``headrace run --sync``)."""
        ev = threading.Event()
        with self._lock:  # claimed and registered at once: never taken for an orphan of this agent
            run = self.store.claim_run(self.agent_id, self._lease_until(), run_id=run_id)
            if run is None:
                return None
            self._active[run.id] = ev
        return self._execute(run, ev)

    def _execute(self, run: RunRecord, ev: threading.Event) -> RunRecord | None:
        try:
            logger.info("agent %s executing run %s", self.agent_id, run.id)
            return self.executor.execute(run, ev, self._interrupt)
        except Exception as exc:
            logger.exception("run %s crashed in the agent", run.id)
            return self._fail_run(run.id, f"internal error in the agent: {exc!r}")
        finally:
            with self._lock:
                self._active.pop(run.id, None)
            for callback in self.on_run_ended:
                callback(run.id)
            # Work folders go after the run is recorded as ended: off the run's critical path.
            self.executor.cleanup(run.id)
            self._threads = [t for t in self._threads if t.is_alive() and t is not threading.current_thread()]
            self._wake.set()

    def _heartbeat(self) -> None:
        try:
            self.store.renew_leases(self.agent_id, self._lease_until())
        except StoreFullError as exc:
            logger.warning("agent %s could not renew its leases: %s", self.agent_id, exc)
        except HeadraceError:
            logger.exception("agent %s could not renew its leases", self.agent_id)

    def _lease_until(self):
        return clock.now() + timedelta(seconds=self.lease_seconds)

    # -- orphans -------------------------------------------------------------------------
    def _safe_recover(self) -> None:
        try:
            self.recover_orphans()
        except StoreFullError as exc:
            logger.warning("agent %s could not check for orphaned runs: %s", self.agent_id, exc)
        except HeadraceError:
            logger.exception("agent %s could not check for orphaned runs", self.agent_id)

    def recover_orphans(self) -> list[str]:
        """Apply the orphan policy to every Running run whose agent is gone; return their ids.

        A run of this agent that it no longer executes (its end could not be recorded) is one too.
        """
        recovered = []
        now = clock.now()
        cursor = None
        while True:
            runs, cursor = self.store.list_runs(statuses=[RunStatus.RUNNING], limit=200, cursor=cursor)
            for run in runs:
                if not run.kind.agent_runs_it:
                    continue  # an interactive or sweep run: its own process or driver owns it
                if run.agent_id == self.agent_id:
                    with self._lock:
                        mine = run.id in self._active
                    if mine or not self._recover(run):
                        continue
                    recovered.append(run.id)
                    continue
                expired = run.lease_expires_at is not None and run.lease_expires_at < now
                if expired or agent_is_dead(run.agent_id):
                    if self._recover(run):
                        recovered.append(run.id)
            if cursor is None:
                return recovered

    def _recover(self, run: RunRecord) -> bool:
        lost = f"agent lost: agent {run.agent_id} stopped while this step was running"
        if run.agent_id == self.agent_id:
            lost = f"agent lost: agent {run.agent_id} could not record how this step ended"
        # Take ownership first, from the owner and attempt this agent saw: of several agents
        # recovering the run exactly one wins, and a late one never resets a run claimed since.
        try:
            taken = self.store.take_over_run(run.id, owner=run.agent_id, attempt=run.attempt,
                                             agent_id=self.agent_id, lease_until=self._lease_until())
        except NotFoundError:
            return False
        if taken is None:
            return False
        requeue = self.orphan_policy == "requeue"
        steps = self.store.list_step_runs(run.id)
        end_lost_children(self.store, [run.id, *(s.id for s in steps if not s.status.is_terminal)],
                          f"{lost}; this child run ended with it", clock.now())
        for step in steps:
            if step.status.is_terminal:
                continue
            if requeue:
                self.store.update_step_run(step.id, status=StepStatus.NOT_STARTED, started_at=None,
                                           error=f"re-queued after {lost}")
            elif step.status is StepStatus.RUNNING:
                self.store.update_step_run(step.id, status=StepStatus.FAILED, error=lost, ended_at=clock.now())
            else:
                self.store.update_step_run(step.id, status=StepStatus.CANCELED, ended_at=clock.now(),
                                           error="not run: the agent executing the run was lost")
        if requeue:
            self.store.update_run(run.id, status=RunStatus.QUEUED, agent_id=None, lease_expires_at=None)
            self.wake()
            logger.warning("re-queued run %s after its agent %s was lost", run.id, run.agent_id)
        else:
            self._fail_run(run.id, f"agent {run.agent_id} was lost while the run was executing "
                                   "(orphan policy 'fail'; set HEADRACE_AGENT__ORPHAN_POLICY=requeue to resume)")
            logger.warning("marked run %s failed: its agent %s was lost", run.id, run.agent_id)
        return True

    def _fail_run(self, run_id: str, error: str) -> RunRecord | None:
        """Fail the run and its unfinished steps, in one go once the store accepts writes (if it is full)."""
        def write() -> RunRecord:
            ended = clock.now()
            steps = self.store.list_step_runs(run_id)
            self.store.update_step_runs([
                (s.id, {"status": StepStatus.FAILED if s.status is StepStatus.RUNNING else StepStatus.CANCELED,
                        "ended_at": ended, "error": s.error or error})
                for s in steps if not s.status.is_terminal])
            return self.store.update_run(run_id, status=RunStatus.FAILED, ended_at=ended, error=error,
                                         agent_id=None, lease_expires_at=None)

        try:
            return until_written(write, f"failing run {run_id}", self._stop)
        except HeadraceError:
            logger.exception("could not mark run %s failed", run_id)
            return None
