"""Drives one claimed pipeline run to the end: reuse decisions, parallel dispatch, failure rules.

Failure rules (Azure ML v1 §4.5): with ``continue_on_step_failure=False`` the first failing step
cancels the running steps and nothing new starts; with ``True`` every step that does not depend
(transitively) on a failed step still runs. Steps that cannot run end Canceled, with the reason.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from headrace import clock
from headrace.datastores.base import Datastore
from headrace.datastores.fingerprint import fingerprint
from headrace.engine import compute as c
from headrace.engine.reuse import reuse_key
from headrace.errors import HeadraceError
from headrace.logs import get_logger
from headrace.storage.base import MetadataStore
from headrace.storage.records import MetricRecord, RunRecord, RunStatus, StepRunRecord, StepStatus

logger = get_logger(__name__)

CANCEL_CHECK_SECONDS = 0.5


@dataclass(frozen=True)
class ExecutionSettings:
    max_parallel_steps: int = 2
    step_timeout_seconds: float | None = None
    small_file_bytes: int = 1 << 20


def output_path(run_id: str, step: str, output: str) -> str:
    """Run-scoped datastore path of a step output."""
    return f"headrace/runs/{run_id}/{step}/{output}"


def log_path(run_id: str, step_run_id: str) -> str:
    """Artifact-datastore folder of a step run's logs."""
    return f"logs/{run_id}/{step_run_id}"


class RunExecutor:
    """Executes claimed runs against compute targets, recording everything in the store."""

    def __init__(
        self,
        store: MetadataStore,
        targets: dict[str, c.ComputeTarget],
        artifacts: Datastore,
        resolve_datastore: Callable[[str], Datastore],
        settings: ExecutionSettings,
    ):
        self.store = store
        self.targets = targets
        self.artifacts = artifacts
        self.resolve_datastore = resolve_datastore
        self.settings = settings

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
        state = _RunState(self, run, cancel_event or threading.Event())
        state.interrupt_event = interrupt_event or threading.Event()
        return state.drive()


class _RunState:
    def __init__(self, ex: RunExecutor, run: RunRecord, cancel_event: threading.Event):
        self.ex = ex
        self.store = ex.store
        self.run = run
        self.cancel_event = cancel_event
        self.graph = self.store.get_pipeline(run.pipeline_id).graph
        self.steps = {s["name"]: s for s in self.graph["steps"]}
        self.records: dict[str, StepRunRecord] = {r.name: r for r in self.store.list_step_runs(run.id)}
        self.stopping: str | None = None  # "failed" | "canceled" | "interrupted"
        self.interrupt_event = threading.Event()
        self.running: dict[Future[c.StepOutcome], str] = {}
        self.last_cancel_check = clock.monotonic()
        self._pool: ThreadPoolExecutor | None = None

    # -- main loop -----------------------------------------------------------------------
    def drive(self) -> RunRecord:
        try:
            while True:
                self._check_cancel()
                while not self.stopping and self._schedule_pass():
                    pass
                if not self.running:
                    break
                done, _ = wait(list(self.running), timeout=CANCEL_CHECK_SECONDS, return_when=FIRST_COMPLETED)
                for fut in done:
                    self._finish(self.running.pop(fut), fut)
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
        return self._close()

    def _check_cancel(self) -> None:
        if self.stopping in ("canceled", "interrupted"):
            return
        if self.interrupt_event.is_set():
            self.stopping = "interrupted"
            self._stop_running()
            return
        now = clock.monotonic()
        requested = self.cancel_event.is_set()
        if not requested and now - self.last_cancel_check >= CANCEL_CHECK_SECONDS:
            self.last_cancel_check = now
            requested = self.store.get_run(self.run.id).cancel_requested
        if requested:
            self.stopping = "canceled"
            self._stop_running()

    def _stop_running(self) -> None:
        for name in self.running.values():
            step = self.steps[name]
            self.ex.targets[step["compute_target"]].cancel(self.records[name].id)

    # -- scheduling ----------------------------------------------------------------------
    def _schedule_pass(self) -> bool:
        """Start (or reuse, or cancel) every step that can move; True if anything changed."""
        changed = False
        for step in self.graph["steps"]:
            name = step["name"]
            rec = self.records[name]
            if rec.status is not StepStatus.NOT_STARTED:
                continue
            why = self._blocked_reason(step)
            if why:
                self._set(name, status=StepStatus.CANCELED, error=why, ended_at=clock.now())
                changed = True
                continue
            if not all(self.records[d].status is StepStatus.FINISHED for d in step["depends_on"]):
                continue
            if len(self.running) >= self.ex.settings.max_parallel_steps:
                return changed
            self._start(step)
            changed = True
        return changed

    def _blocked_reason(self, step: dict[str, Any]) -> str | None:
        """Why ``step`` can never run (an upstream step failed or was canceled), or None."""
        for dep in step["depends_on"]:
            rec = self.records[dep]
            if rec.status in (StepStatus.FAILED, StepStatus.CANCELED):
                return f"not run: upstream step {rec.name!r} {rec.status.value.lower()}"
        return None

    def _start(self, step: dict[str, Any]) -> None:
        name = step["name"]
        rec = self.records[name]
        log: list[str] = [f"step {name!r} (step run {rec.id}) of run {self.run.id}"]
        try:
            task, fingerprints = self._task(step, rec, log)
        except HeadraceError as exc:
            log.append(f"could not start: {exc}")
            self._write_log(rec, log)
            now = clock.now()
            self._set(name, status=StepStatus.FAILED, error=str(exc), started_at=now, ended_at=now,
                      log_uri=self.ex.artifacts.uri(log_path(self.run.id, rec.id)))
            self._on_failure()
            return
        key = reuse_key(
            snapshot_hash=task.snapshot_hash, script_name=task.script_name, arguments=task.arguments,
            parameters={p: self.run.parameters.get(p) for p in step["parameters"]},
            environment=step.get("environment_variables") or {}, input_fingerprints=fingerprints,
            outputs=step["outputs"], compute_target=step["compute_target"],
        )
        log.append(f"reuse key: {key}")
        props = dict(rec.properties, input_fingerprints=fingerprints)
        if self._try_reuse(step, rec, key, log, props):
            return
        log.append(f"started at {clock.now().isoformat()}")
        self._set(name, status=StepStatus.RUNNING, started_at=clock.now(), reuse_key=key,
                  log_uri=self.ex.artifacts.uri(task.log_path), properties=props)
        target = self.ex.targets[step["compute_target"]]
        pool = self._get_pool()
        self.running[pool.submit(_run_task, target, task, log)] = name

    def _get_pool(self) -> ThreadPoolExecutor:
        if self._pool is None:  # created lazily: a fully reused run never starts a thread
            self._pool = ThreadPoolExecutor(self.ex.settings.max_parallel_steps, thread_name_prefix="step")
        return self._pool

    def _try_reuse(self, step: dict[str, Any], rec: StepRunRecord, key: str, log: list[str],
                   props: dict[str, Any]) -> bool:
        if not step.get("allow_reuse", True):
            log.append("reuse: disabled for this step (allow_reuse=False)")
            return False
        if self.run.regenerate_outputs:
            log.append("reuse: disabled for this run (regenerate_outputs=True)")
            return False
        prior = self.store.find_reusable_step_run(key)
        if prior is None:
            log.append("reuse: no earlier finished step run with this key; running")
            return False
        missing = [n for n, o in prior.outputs.items() if not self._output_exists(o)]
        if missing:
            log.append(f"reuse: step run {prior.id} matches but its outputs {missing} are gone; running")
            return False
        origin = prior.reused_from or prior.id
        log.append(f"reuse: reused results of step run {origin} (run {prior.run_id}); not executed")
        now = clock.now()
        self._write_log(rec, log)
        self._set(step["name"], status=StepStatus.FINISHED, reuse_key=key, reused_from=origin,
                  outputs=prior.outputs, exit_code=prior.exit_code, started_at=now, ended_at=now,
                  log_uri=self.ex.artifacts.uri(log_path(self.run.id, rec.id)), properties=props)
        return True

    def _output_exists(self, out: dict[str, str]) -> bool:
        try:
            return self.ex.resolve_datastore(out["datastore"]).exists(out["path"])
        except HeadraceError:
            return False

    # -- task building -------------------------------------------------------------------
    def _task(self, step: dict[str, Any], rec: StepRunRecord,
              log: list[str]) -> tuple[c.StepTask, dict[str, str]]:
        data = self.graph["data"]
        inputs: dict[str, c.DataBinding] = {}
        fingerprints: dict[str, str] = {}
        for name in step["inputs"]:
            binding, fp = self._input(name, data[name], log)
            inputs[name] = binding
            fingerprints[name] = fp
        outputs = {
            name: c.DataBinding(data[name].get("datastore") or "workspaceblobstore",
                                output_path(self.run.id, step["name"], name))
            for name in step["outputs"]
        }
        args: list[Any] = []
        for arg in step["arguments"]:
            if "literal" in arg:
                args.append(str(arg["literal"]))
            elif "data" in arg:
                args.append({"data": arg["data"]})
            else:
                args.append(_param_text(self.run.parameters[arg["param"]]))
        env = {k: str(v) for k, v in (step.get("environment_variables") or {}).items()}
        for p in step["parameters"]:
            value = self.run.parameters.get(p)
            if not isinstance(value, dict):
                env[f"AML_PARAMETER_{_env_name(p)}"] = _param_text(value)
        timeout = step.get("timeout_seconds") or self.ex.settings.step_timeout_seconds
        task = c.StepTask(
            run_id=self.run.id, step_run_id=rec.id, step_name=step["name"],
            experiment_name=self.run.experiment_name, snapshot_hash=step["snapshot"],
            script_name=step["script_name"], arguments=args, inputs=inputs, outputs=outputs, env=env,
            log_path=log_path(self.run.id, rec.id), timeout_seconds=timeout,
        )
        return task, fingerprints

    def _input(self, name: str, spec: dict[str, Any], log: list[str]) -> tuple[c.DataBinding, str]:
        if spec["kind"] == "pipeline_data":
            producer = self.records[spec["producer"]]
            out = producer.outputs.get(name)
            if out is None:
                raise _StepSetupError(f"input {name!r}: step {spec['producer']!r} recorded no such output")
            return c.DataBinding(out["datastore"], out["path"]), f"step:{producer.reused_from or producer.id}:{name}"
        if spec["kind"] == "parameter":
            value = self.run.parameters[spec["parameter"]]
            ds_name, path = value["datastore"], value["path"]
        else:
            ds_name, path = spec["datastore"], spec["path"]
        ds = self.ex.resolve_datastore(ds_name)
        fp = fingerprint(ds, path, self.ex.settings.small_file_bytes)
        log.append(f"input {name} fingerprint: {_describe_fingerprint(fp)}")
        return c.DataBinding(ds_name, path, spec.get("mode", "mount")), f"{ds_name}:{path}:{fp['digest']}"

    # -- completion ----------------------------------------------------------------------
    def _finish(self, name: str, fut: Future[c.StepOutcome]) -> None:
        rec = self.records[name]
        try:
            outcome = fut.result()
        except Exception as exc:  # a bug in a compute target must not kill the run loop
            logger.exception("compute target crashed on step %s of run %s", name, self.run.id)
            now = clock.now()
            outcome = c.StepOutcome(StepStatus.FAILED, now, now, error=f"compute target error: {exc!r}")
        step = self.steps[name]
        if self.stopping == "interrupted" and outcome.status is StepStatus.CANCELED:
            self._set(name, status=StepStatus.NOT_STARTED, started_at=None, exit_code=None,
                      error="interrupted: its agent shut down; it runs again when the run is resumed")
            return
        outputs = {}
        if outcome.status is StepStatus.FINISHED:
            outputs = {n: {"datastore": (self.graph["data"][n].get("datastore") or "workspaceblobstore"),
                           "path": output_path(self.run.id, name, n)} for n in step["outputs"]}
        props = dict(rec.properties, output_bytes=outcome.output_bytes, stderr_tail=outcome.stderr_tail[-2000:])
        self._set(name, status=outcome.status, exit_code=outcome.exit_code, error=outcome.error,
                  ended_at=outcome.ended_at, outputs=outputs, tags=outcome.tags, properties=props)
        self._store_metrics(rec, outcome.metrics)
        if outcome.parent_tags:
            self.run = self.store.update_run(self.run.id, tags={**self.store.get_run(self.run.id).tags,
                                                                **outcome.parent_tags})
        if outcome.status is StepStatus.FAILED:
            self._on_failure()

    def _on_failure(self) -> None:
        if not self.run.continue_on_step_failure and not self.stopping:
            self.stopping = "failed"
            self._stop_running()

    def _store_metrics(self, rec: StepRunRecord, metrics: list[dict[str, Any]]) -> None:
        if not metrics:
            return
        seqs: dict[tuple[str, bool], int] = {}
        records = []
        for m in metrics:
            on_parent = m.get("scope") == "parent"
            seq = seqs.get((m["name"], on_parent), 0)
            seqs[(m["name"], on_parent)] = seq + 1
            records.append(MetricRecord(
                run_id=self.run.id, step_run_id=None if on_parent else rec.id, name=str(m["name"]), value=m.get("value"),
                kind=m.get("kind", "scalar"), seq=seq, logged_at=clock.now(),
            ))
        self.store.add_metrics(records)

    def _close(self) -> RunRecord:
        if self.stopping == "interrupted":
            logger.warning("run %s interrupted by agent shutdown; back in the queue", self.run.id)
            return self.store.update_run(self.run.id, status=RunStatus.QUEUED, agent_id=None,
                                         lease_expires_at=None)
        reason = {"failed": "not run: the pipeline stopped after a step failed",
                  "canceled": "not run: the run was canceled"}.get(self.stopping or "", "not run")
        for step in self.graph["steps"]:  # topological order: upstream reasons are settled first
            name = step["name"]
            if not self.records[name].status.is_terminal:
                why = (self.stopping != "canceled" and self._blocked_reason(step)) or reason
                self._set(name, status=StepStatus.CANCELED, error=why, ended_at=clock.now())
        statuses = [r.status for r in self.records.values()]
        failed = [r for r in self.records.values() if r.status is StepStatus.FAILED]
        if self.stopping == "canceled":
            final, error = RunStatus.CANCELED, "canceled on request"
        elif failed:
            final = RunStatus.FAILED
            error = "; ".join(f"step {r.name!r} failed: {r.error}" for r in failed)
        elif all(s is StepStatus.FINISHED for s in statuses):
            final, error = RunStatus.FINISHED, None
        else:
            final, error = RunStatus.FAILED, "some steps did not run"
        return self.store.update_run(self.run.id, status=final, ended_at=clock.now(), error=error,
                                     agent_id=None, lease_expires_at=None)

    # -- helpers -------------------------------------------------------------------------
    def _set(self, name: str, **changes: Any) -> None:
        self.records[name] = self.store.update_step_run(self.records[name].id, **changes)

    def _write_log(self, rec: StepRunRecord, lines: list[str]) -> None:
        try:
            self.ex.artifacts.write_bytes(f"{log_path(self.run.id, rec.id)}/execution.log",
                                          ("\n".join(lines) + "\n").encode())
        except HeadraceError:
            logger.exception("could not write the execution log of step run %s", rec.id)


class _StepSetupError(HeadraceError):
    pass


def _run_task(target: c.ComputeTarget, task: c.StepTask, log: list[str]) -> c.StepOutcome:
    return target.run(task, log)


def _describe_fingerprint(fp: dict[str, Any]) -> str:
    files = list(fp["files"].values())
    large = sum("sha256" not in f for f in files)
    how = {0: "content hash", len(files): "size + version"}.get(
        large, f"content hash ({len(files) - large} small), size + version ({large} large)")
    return (f"{fp['datastore']}:{fp['path']} ({fp['kind']}, {len(files)} file(s), {sum(f['size'] for f in files)}"
            f" bytes) by {how}, digest {fp['digest'][:16]}")


def _param_text(value: Any) -> str:
    if isinstance(value, dict):  # a data path parameter used as a plain argument
        return str(value.get("path", ""))
    return str(value)


def _env_name(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)
