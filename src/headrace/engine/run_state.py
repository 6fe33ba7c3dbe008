"""``RunState``: one run as ``RunExecutor.execute`` drives it; ``runner.py`` describes its threads and rules."""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from headrace import clock
from headrace.engine import compute as c
from headrace.engine import logged_models
from headrace.engine.frontier import Frontier
from headrace.engine.late_keys import LateKey
from headrace.engine.reuse import reusable_step_run, step_reuse_key
from headrace.engine.run_ending import NOT_RUN, final_status
from headrace.engine.step_streams import StepStreams
from headrace.engine.store_writes import until_written
from headrace.engine.targets import placement
from headrace.engine.tasks import build_task, log_path, output_locations, upcoming_step, write_execution_log
from headrace.errors import HeadraceError
from headrace.logs import get_logger
from headrace.storage.records import RunRecord, RunStatus, StepRunRecord, StepStatus

if TYPE_CHECKING:
    from headrace.engine.runner import RunExecutor

__all__ = ["CANCEL_CHECK_SECONDS", "REMOTE_STEP_THREADS", "RunState"]

logger = get_logger(__name__)

CANCEL_CHECK_SECONDS = 0.5
REMOTE_STEP_THREADS = 256
"""Step threads beyond ``max_parallel_steps`` for steps on remote targets (each waits for its task)."""

# step name, its task, its execution log, the steps that wait only for it (to stage while it runs)
_Job = tuple[str, c.StepTask, list[str], list[c.UpcomingStep]]


class RunState:
    """One run being driven: its step records, its frontier, the steps running, and the lock over them."""

    def __init__(self, ex: RunExecutor, run: RunRecord, cancel_event: threading.Event):
        self.ex = ex
        self.store = ex.store
        self.run = run
        self.cancel_event = cancel_event
        self.graph = self.store.get_pipeline(run.pipeline_id).graph
        self.steps = {s["name"]: s for s in self.graph["steps"]}
        self.records: dict[str, StepRunRecord] = {r.name: r for r in self.store.list_step_runs(run.id)}
        self.frontier = Frontier(self.graph["steps"], self.records)
        self.announced: set[str] = set()  # steps already given to a target to stage ahead
        self.stopping: str | None = None  # "failed" | "canceled" | "interrupted"
        self.interrupt_event = threading.Event()
        self.running: set[str] = set()  # steps recorded Running whose task has not ended
        self.streams = StepStreams(self.store, run)  # what running steps logged, stored as they log it
        self.error: BaseException | None = None  # the store failed on a step thread: stop, re-raise
        self.last_cancel_check = clock.monotonic()
        self._pending: dict[str, dict[str, Any]] = {}  # step changes not written yet, by step name
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._pool: ThreadPoolExecutor | None = None
        self._late: dict[str, LateKey] = {}  # reuse keys of started steps, taken when they start (late_keys)

    # -- run thread ----------------------------------------------------------------------
    def drive(self) -> RunRecord:
        try:
            self._check_cancel(read_store=False)
            with self._lock:
                self._advance(keep_one=False)
            while True:
                with self._lock:
                    if not self.running:
                        break
                    self._changed.wait(CANCEL_CHECK_SECONDS)
                    if not self.running:
                        break
                self._check_cancel(read_store=True)
                self._stream_metrics()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
        if self.error is not None:
            raise self.error
        return self._close()

    def _check_cancel(self, read_store: bool) -> None:
        """Notice a cancel request or an interrupt; the store is read at most every 0.5 s."""
        if self.stopping in ("canceled", "interrupted"):
            return
        if self.interrupt_event.is_set():
            with self._lock:
                self.stopping = "interrupted"
                self._stop_running()
            return
        requested = self.cancel_event.is_set()
        now = clock.monotonic()
        if not requested and read_store and now - self.last_cancel_check >= CANCEL_CHECK_SECONDS:
            self.last_cancel_check = now
            requested = self.store.get_run(self.run.id).cancel_requested
        if requested:
            with self._lock:
                self.stopping = "canceled"
                self._stop_running()

    def _stream_metrics(self) -> None:
        """Store what running steps logged so far: metrics and child runs (``step_streams``)."""
        with self._lock:
            for name in list(self.running):
                target = self.ex.targets[self.steps[name]["compute_target"]]
                self.streams.poll(name, self.records[name].id, target, self._written)

    def _stop_running(self) -> None:
        for name in self.running:
            self.ex.targets[self.steps[name]["compute_target"]].cancel(self.records[name].id)

    # -- step threads --------------------------------------------------------------------
    def _work(self, job: _Job | None) -> None:
        while job is not None:
            job = self._run_job(*job)

    def _run_job(self, name: str, task: c.StepTask, log: list[str],
                 upcoming: list[c.UpcomingStep]) -> _Job | None:
        """Run one task; record its outcome and start what it unblocked; return the job to run next."""
        late = self._late.pop(name, None)
        try:
            if late is not None:
                late.start()  # its inputs are fingerprinted while the step's process starts
            outcome = self.ex.targets[self.steps[name]["compute_target"]].run(task, log, upcoming)
        except Exception as exc:  # a bug in a compute target must not kill the run
            logger.exception("compute target crashed on step %s of run %s", name, self.run.id)
            now = clock.now()
            outcome = c.StepOutcome(StepStatus.FAILED, now, now, error=f"compute target error: {exc!r}")
        if late is not None:
            key, fingerprints = late.wait()
            log.extend(late.lines)
            write_execution_log(self.ex.artifacts, self.run.id, self.records[name].id, log)  # with its lines
        with self._lock:
            try:
                self.running.discard(name)
                if self.error is not None:
                    return None  # as if the run thread had died: the agent fails what is left
                if late is not None:
                    self._set(name, reuse_key=key, properties=dict(self.records[name].properties, **(
                        {"input_fingerprints": fingerprints} if fingerprints is not None else {})))
                self._finish(name, outcome)
                self._check_cancel(read_store=False)
                return self._advance(keep_one=True)
            except BaseException as exc:
                logger.exception("recording step %s of run %s failed", name, self.run.id)
                self.error = exc
                return None
            finally:
                if not self.running:
                    self._changed.notify_all()  # the run thread waits for the last step

    # -- scheduling (under the lock) -----------------------------------------------------
    def _advance(self, keep_one: bool) -> _Job | None:
        """Start every step that can move, write the changes, launch the tasks.

        With ``keep_one`` one started job is returned for the calling step thread to run.
        """
        started: list[_Job] = []
        try:
            while not self.stopping and self._schedule_pass(started):
                pass
            self._flush()
        except BaseException:
            self.running.difference_update(job[0] for job in started)  # never launched
            for job in started:
                self._late.pop(job[0], None)
            raise
        for job in started:
            job[3].extend(self._upcoming(job[0]))
        mine = started.pop(0) if keep_one and started else None
        for job in started:
            self._get_pool().submit(self._work, job)
        return mine

    def _schedule_pass(self, started: list[_Job]) -> bool:
        """Start (or reuse, or cancel) every step that can move, in graph order; True if anything changed."""
        changed = False
        while (step := self.frontier.first()) is not None:
            name = step["name"]
            why = self.frontier.blocked_reason(step)
            if why:
                self.frontier.pop()
                self._set(name, status=StepStatus.CANCELED, error=why, ended_at=clock.now())
                changed = True
                continue
            if self._agent_full(step) or self._target_full(step):
                return changed
            self.frontier.pop()
            job = self._start(step)
            if job is not None:
                started.append(job)
            changed = True
        return changed

    def _agent_full(self, step: dict[str, Any]) -> bool:
        """Whether the agent runs ``max_parallel_steps`` steps already; steps on a remote target (Dask) run
        elsewhere and count only against their target's limit."""
        if self._remote(step["compute_target"]):
            return False
        local = sum(not self._remote(self.steps[n]["compute_target"]) for n in self.running)
        return local >= self.ex.settings.max_parallel_steps

    def _remote(self, target: str) -> bool:
        try:
            return bool(getattr(self.ex.targets[target], "remote", False))
        except (HeadraceError, KeyError):  # an unknown target: the step fails when it is given to it
            return False

    def _target_full(self, step: dict[str, Any]) -> bool:
        """Whether the step's target already runs as many of this run's steps as it takes."""
        limit = getattr(self.ex.targets, "max_parallel", lambda _name: None)(target := step["compute_target"])
        return limit is not None and sum(self.steps[n]["compute_target"] == target for n in self.running) >= limit

    def _start(self, step: dict[str, Any]) -> _Job | None:
        """Reuse, fail or mark Running one ready step; the job to launch, if it must run."""
        name = step["name"]
        rec = self.records[name]
        log: list[str] = [f"step {name!r} (step run {rec.id}) of run {self.run.id}"]
        # Nothing to reuse: local folders are fingerprinted while the step runs (late_keys), not before.
        disabled = self._reuse_disabled(step)
        later: dict[str, Any] | None = {} if disabled and not self._remote(step["compute_target"]) else None
        try:
            task, fingerprints = build_task(
                graph=self.graph, step=step, record=rec, run=self.run, records=self.records,
                resolve_datastore=self.ex.resolve_datastore, small_file_bytes=self.ex.settings.small_file_bytes,
                default_timeout=self.ex.settings.step_timeout_seconds, log=log, later=later,
            )
        except HeadraceError as exc:
            log.append(f"could not start: {exc}")
            write_execution_log(self.ex.artifacts, self.run.id, rec.id, log)
            now = clock.now()
            self._set(name, status=StepStatus.FAILED, error=str(exc), started_at=now, ended_at=now,
                      log_uri=self.ex.artifacts.uri(log_path(self.run.id, rec.id)))
            self._on_failure()
            return None
        key_of = functools.partial(step_reuse_key, task, step, self.run.parameters)
        key: str | None = None
        if later:
            self._late[name] = LateKey(later, fingerprints, key_of, self.ex.settings.small_file_bytes)
            log += [disabled, f"reuse key: taken while the step runs (input(s) {', '.join(later)} fingerprinted then)"]
            props = dict(rec.properties, **placement(self.ex.targets, step, task, log))
        else:
            key = key_of(fingerprints)
            log.append(f"reuse key: {key}")
            props = dict(rec.properties, input_fingerprints=fingerprints,
                         **placement(self.ex.targets, step, task, log))
            if self._try_reuse(step, rec, key, log, props):
                return None
        now = clock.now()
        log.append(f"started at {now.isoformat()}")
        self._set(name, status=StepStatus.RUNNING, started_at=now, reuse_key=key,
                  log_uri=self.ex.artifacts.uri(task.log_path), properties=props)
        self.running.add(name)
        return name, task, log, []

    def _upcoming(self, name: str) -> list[c.UpcomingStep]:
        """Steps that wait only for ``name`` and steps already running, each announced once."""
        target = self.steps[name]["compute_target"]
        out = []
        for step in self.frontier.waiting_only_on_running(name):
            if step["name"] not in self.announced and step["compute_target"] == target:
                self.announced.add(step["name"])
                out.append(upcoming_step(self.graph, self.run.id, step, self.records[step["name"]].id))
        return out

    def _get_pool(self) -> ThreadPoolExecutor:
        if self._pool is None:  # created lazily: a fully reused run never starts a thread
            size = self.ex.settings.max_parallel_steps
            if any(self._remote(s["compute_target"]) for s in self.graph["steps"]):
                size += REMOTE_STEP_THREADS  # threads start only when needed
            self._pool = ThreadPoolExecutor(size, thread_name_prefix="step")
        return self._pool

    def _reuse_disabled(self, step: dict[str, Any]) -> str | None:
        """Why ``step`` cannot be reused in this run (the execution log's line), or None."""
        if not step.get("allow_reuse", True):
            return "reuse: disabled for this step (allow_reuse=False)"
        if self.run.regenerate_outputs:
            return "reuse: disabled for this run (regenerate_outputs=True)"
        return None

    def _try_reuse(self, step: dict[str, Any], rec: StepRunRecord, key: str, log: list[str],
                   props: dict[str, Any]) -> bool:
        disabled = self._reuse_disabled(step)
        if disabled:
            log.append(disabled)
            return False
        prior = reusable_step_run(self.store, self.ex.resolve_datastore, key, log)
        if prior is None:
            return False
        origin = prior.reused_from or prior.id
        log.append(f"reuse: reused results of step run {origin} (run {prior.run_id}); not executed")
        now = clock.now()
        write_execution_log(self.ex.artifacts, self.run.id, rec.id, log)
        self._set(step["name"], status=StepStatus.FINISHED, reuse_key=key, reused_from=origin,
                  outputs=prior.outputs, exit_code=prior.exit_code, started_at=now, ended_at=now,
                  log_uri=self.ex.artifacts.uri(log_path(self.run.id, rec.id)), properties=props)
        return True

    # -- completion ----------------------------------------------------------------------
    def _finish(self, name: str, outcome: c.StepOutcome) -> None:
        rec = self.records[name]
        if self.stopping == "interrupted" and outcome.status is StepStatus.CANCELED:
            self._set(name, status=StepStatus.NOT_STARTED, started_at=None, exit_code=None,
                      error="interrupted: its agent shut down; it runs again when the run is resumed")
            self.streams.end_children(name, outcome.children, StepStatus.CANCELED, outcome.ended_at, self._written)
            return
        outputs = {}
        if outcome.status is StepStatus.FINISHED:
            outputs = output_locations(self.graph, self.run.id, self.steps[name])
            if outcome.model_requests:
                self._register_models(name, outcome, outputs)
                outputs = outputs if outcome.status is StepStatus.FINISHED else {}
        props = dict(rec.properties, **outcome.properties, output_bytes=outcome.output_bytes,
                     stderr_tail=outcome.stderr_tail[-2000:])
        self._set(name, status=outcome.status, exit_code=outcome.exit_code, error=outcome.error,
                  ended_at=outcome.ended_at, outputs=outputs, tags=outcome.tags, properties=props)
        if outcome.metrics or outcome.parent_tags:
            self._flush()  # the step is recorded before what it logged
        self.streams.finish(name, rec.id, outcome, self._written)
        if outcome.logged_models:
            self._written(lambda: logged_models.record(self.store, self.run, outcome.logged_models),
                          f"recording the MLflow models of step {name!r}")
        if outcome.parent_tags or outcome.parent_properties:
            self.run = self._written(lambda: self._update_own(outcome), "tagging")
        if outcome.status is StepStatus.FAILED:
            self._on_failure()
        elif outcome.status is StepStatus.CANCELED and not self.stopping:  # the script called run.cancel()
            self.stopping = "canceled"
            self._stop_running()

    def _register_models(self, name: str, outcome: c.StepOutcome, outputs: dict[str, Any]) -> None:
        problems = [p for hook in self.ex.register_models
                    for p in hook(self.run, name, self.records[name].id, outputs, outcome.model_requests)]
        if problems:
            outcome.status, outcome.error = StepStatus.FAILED, "; ".join(problems)

    def _update_own(self, outcome: c.StepOutcome) -> RunRecord:
        now = self.store.get_run(self.run.id)
        return self.store.update_run(self.run.id, tags={**now.tags, **outcome.parent_tags},
                                     properties={**now.properties, **outcome.parent_properties})

    def _on_failure(self) -> None:
        if not self.run.continue_on_step_failure and not self.stopping:
            self.stopping = "failed"
            self._stop_running()

    def _close(self) -> RunRecord:
        if self.stopping == "interrupted":
            logger.warning("run %s interrupted by agent shutdown; back in the queue", self.run.id)
            return self._release("re-queueing", status=RunStatus.QUEUED)
        reason = NOT_RUN.get(self.stopping or "", "not run")
        for step in self.graph["steps"]:  # topological order: upstream reasons are settled first
            name = step["name"]
            if not self.records[name].status.is_terminal:
                why = (self.stopping != "canceled" and self.frontier.blocked_reason(step)) or reason
                self._set(name, status=StepStatus.CANCELED, error=why, ended_at=clock.now())
        self._flush()
        final, error = final_status(self.stopping, self.records.values(), self.run.kind,
                                    lambda: self.store.get_run(self.run.id).error)
        if final in (RunStatus.FINISHED, RunStatus.COMPLETED):
            for hook in self.ex.before_finished:  # they log their own failures, never raise
                hook(self.run.id)
        return self._release("ending", status=final, ended_at=clock.now(), error=error)

    # -- helpers -------------------------------------------------------------------------
    def _set(self, name: str, **changes: Any) -> None:
        """Change a step's record now (later steps of the pass see it); written by ``_flush``."""
        self.records[name] = dataclasses.replace(self.records[name], **changes)
        self._pending.setdefault(name, {}).update(changes)
        if "status" in changes:
            self.frontier.status_changed(name, changes["status"])

    def _flush(self) -> None:
        """Write every pending step change in one store transaction."""
        if not self._pending:
            return
        names = list(self._pending)
        changes = [(self.records[name].id, self._pending[name]) for name in names]
        self._pending = {}
        written = self._written(lambda: self.store.update_step_runs(changes), "recording its steps")
        for name, record in zip(names, written, strict=True):
            self.records[name] = record

    def _written(self, write: Callable[[], Any], what: str) -> Any:
        """A state write that must land: retried while the store is full, until the agent stops."""
        return until_written(write, f"run {self.run.id}: {what}", self.interrupt_event)

    def _release(self, what: str, **changes: Any) -> RunRecord:
        return self._written(lambda: self.store.update_run(self.run.id, agent_id=None, lease_expires_at=None,
                                                           **changes), what)
