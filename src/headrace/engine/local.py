"""The "local" compute target: each step in its own subprocess on this machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from headrace import clock
from headrace.datastores.base import Datastore
from headrace.engine import (
    commands,
    dataset_inputs,
    environments,
    run_files,
    step_models,
    step_outputs,
    step_process,
    transfer,
)
from headrace.engine import compute as c
from headrace.engine.launcher import ForkedProcess
from headrace.engine.staging import StagedStep, StepStager
from headrace.errors import HeadraceError
from headrace.logs import get_logger
from headrace.storage.records import StepStatus

if TYPE_CHECKING:
    from headrace.storage.base import MetadataStore

logger = get_logger(__name__)

AGENT_ONLY_PREFIX = "HEADRACE_"
"""Variables of the agent's own environment a step does not inherit: the workspace's location, database
URL, secret key and tokens are the agent's credentials, not the step's (a step may still set its own)."""


class LocalComputeTarget(c.ComputeTarget):
    """Runs steps as subprocesses of the agent, in per-step work folders under ``work_root``.

    Args:
        artifacts: the artifact datastore (snapshots, logs).
        resolve_datastore: returns the datastore registered under a name.
        work_root: local scratch folder for step work dirs and the snapshot cache.
        keep_workdirs: keep each step's work folder after it ends (debugging).
        step_launch: "fork" starts steps from a warm interpreter when they allow it (see
            ``launcher``), "spawn" always with a new ``python`` process.
        base_env: variables every step gets unless it sets them itself.
        step_env: given a step's own variables, the variables the agent hands it on top (a flow
            step's connections); the step's own still win.
        step_user: run steps as this OS user (the agent must run as root): a step then cannot read
            what only the agent's user may (``config.json``, ``secret.key``, the database). Steps
            are then always started with a new interpreter.
        step_python: the interpreter steps run with (default: the agent's; another one is never forked).
        env_root: where step environments are built and cached (``engine.environments.ensure``); a step
            with an environment runs with its interpreter, forked from a warm server of that interpreter.

    Raises:
        ConfigError: ``step_user`` does not exist, or the agent may not switch to it.
    """

    name = "local"

    def __init__(
        self,
        artifacts: Datastore,
        resolve_datastore: Callable[[str], Datastore],
        work_root: Path,
        keep_workdirs: bool = False,
        step_launch: str = "fork",
        base_env: dict[str, str] | None = None,
        step_env: Callable[[Mapping[str, str]], Mapping[str, str]] | None = None,
        step_user: str | None = None,
        step_python: str | None = None,
        env_root: Path | None = None,
    ):
        self.artifacts = artifacts
        self.resolve_datastore = resolve_datastore
        self.work_root = Path(work_root)
        self.keep_workdirs = keep_workdirs
        self.step_launch = step_launch
        self.base_env = dict(base_env or {})
        self.step_env = step_env
        self.step_user = step_process.step_user(step_user) if step_user else None
        self.step_python = step_python or sys.executable
        self.env_root = Path(env_root) if env_root is not None else self.work_root.parent / "environments"
        self._procs: dict[str, subprocess.Popen[bytes] | ForkedProcess] = {}
        self._context_dirs: dict[str, Path] = {}  # running step run id -> its context folder
        self._tails: dict[tuple[str, str], run_files.JsonlTail] = {}  # (step run id, context file) -> its reader
        self._children_logs: dict[str, run_files.ChildrenLog] = {}  # running step run id -> its child runs so far
        self._canceled: set[str] = set()
        self._lock = threading.Lock()
        # Called with (process group, True) when a step's process started and (group, False) when it
        # ended: a Dask worker hands the group to its watchdog, which kills it if the worker dies.
        self.process_hook: Callable[[int, bool], None] | None = None
        self.writes_execution_log = True
        self.stager = StepStager(artifacts, resolve_datastore, self.work_root, reuse_folders=not keep_workdirs)

    # -- interface -----------------------------------------------------------------------
    def cancel(self, step_run_id: str) -> None:
        with self._lock:
            self._canceled.add(step_run_id)
            proc = self._procs.get(step_run_id)
        if proc is not None and proc.poll() is None:
            step_process.kill_group(proc)

    def run(self, task: c.StepTask, execution_log: list[str],
            upcoming: Sequence[c.UpcomingStep] = ()) -> c.StepOutcome:
        started = clock.now()
        if task.transfer is not None:  # a copy between datastores: no snapshot, no process
            log_dir = self.stager.log_dir(task.run_id, task.step_run_id, task.log_path)
            outcome = transfer.run(task, self.resolve_datastore, log_dir, execution_log, started,
                                   lambda: task.step_run_id in self._canceled, self.artifacts)
            with self._lock:
                self._canceled.discard(task.step_run_id)
            self._finish_logs(task, log_dir, None, execution_log)
            return outcome
        try:
            staged = self._stage(task, execution_log)
            argv, env, out_dirs = self._bind(task, staged, execution_log)
            python = self.step_python
            if task.environment is not None:
                python = str(self._interpreter(task.environment, execution_log))
            if task.command is not None:
                argv = commands.resolve(argv, env, staged.src, python)
            else:
                argv[0] = python
        except HeadraceError as exc:
            execution_log.append(f"preparation failed: {exc}")
            log_dir = self.stager.log_dir(task.run_id, task.step_run_id, task.log_path)
            log_dir.mkdir(parents=True, exist_ok=True)
            self._finish_logs(task, log_dir, None, execution_log)
            return c.StepOutcome(StepStatus.FAILED, started, clock.now(), error=str(exc))
        execution_log.append(f"command: {' '.join(argv)}")
        execution_log.append(f"working directory: {staged.src}")
        outcome = self._execute(task, argv, env, staged, started, execution_log, upcoming)
        if outcome.status is StepStatus.FINISHED:
            step_outputs.upload(self.resolve_datastore, task, out_dirs, outcome, execution_log)
        step_outputs.count_in_place(staged.in_place, outcome, execution_log)
        run_files.read_context(staged.workdir, outcome)
        run_files.capture_files(self.artifacts, task, staged.src, staged.workdir, execution_log)
        self._finish_logs(task, staged.log_dir, staged.workdir if staged.ahead else None, execution_log)
        self.stager.release(staged)
        return outcome

    def logged_so_far(self, step_run_id: str) -> list[dict]:
        tail = self._tail(step_run_id, c.METRICS_FILE)
        return [] if tail is None else list(tail.read())

    def children_so_far(self, step_run_id: str) -> list[dict]:
        tail = self._tail(step_run_id, c.CHILDREN_FILE)
        if tail is None:
            return []
        with self._lock:
            log = self._children_logs.setdefault(step_run_id, run_files.ChildrenLog())
        log.add(tail.read_new())
        return log.children()

    def serve_models(self, step_run_id: str, store: MetadataStore) -> int:
        with self._lock:
            folder = self._context_dirs.get(step_run_id)
        return 0 if folder is None else step_models.serve(folder, store, self.artifacts)

    def _tail(self, step_run_id: str, filename: str) -> run_files.JsonlTail | None:
        """The incremental reader of a running step's context file (None once the step ended)."""
        with self._lock:
            folder = self._context_dirs.get(step_run_id)
            if folder is None:
                return None
            tail = self._tails.get((step_run_id, filename))
            if tail is None:
                tail = self._tails[(step_run_id, filename)] = run_files.JsonlTail(
                    folder / filename, keep=filename != c.CHILDREN_FILE)
            return tail

    def cleanup(self, run_id: str) -> None:
        self.stager.forget_run(run_id)
        if not self.keep_workdirs:
            _rmtree(self.work_root / run_id)

    # -- steps of run() ------------------------------------------------------------------
    def _interpreter(self, record: dict, log: list[str]) -> Path:
        """The interpreter of the step's environment, built first if this machine has not built it yet."""
        log.append(f"environment {record.get('name')!r} version {record.get('version') or '(unregistered)'}, "
                   f"hash {str(record.get('hash'))[:12]}")
        python = environments.ensure(record.get("spec") or {}, self.env_root, log)
        if str(python) == sys.executable:
            return Path(self.step_python)
        return python

    def _stage(self, task: c.StepTask, log: list[str]) -> StagedStep:
        t0 = clock.monotonic()
        staged = self.stager.take(task)
        how = "staged while the previous step ran" if staged.ahead else f"ready in {clock.monotonic() - t0:.3f}s"
        reused = " (work folder of an ended step, unchanged, taken over)" if staged.reused else ""
        log.append(f"snapshot {task.snapshot_hash[:12]} {how}{reused}")
        return staged

    def _bind(self, task: c.StepTask, staged: StagedStep, log: list[str]):
        paths: dict[str, str] = {}
        datasets: dict[str, dict] = {}
        for name, binding in task.inputs.items():
            if binding.dataset is not None:
                paths[name], datasets[name] = dataset_inputs.bind(name, binding, self.artifacts, self.resolve_datastore,
                                                                  staged.workdir, log)
            else:
                paths[name] = self._stage_input(name, binding, staged.workdir, log)
                if binding.file:
                    paths[name] = os.path.join(paths[name], binding.file)
        dataset_inputs.write_context(staged.workdir, datasets)
        out_dirs: dict[str, Path] = {}
        for name in task.outputs:
            out = staged.in_place.get(name)
            if out is None:
                out = out_dirs[name] = staged.workdir / "outputs" / name
                out.mkdir(parents=True, exist_ok=True)
            file = task.outputs[name].file
            paths[name] = str(out / file) if file else str(out)
        argv = [] if task.command is not None else [self.step_python, task.script_name]
        for arg in task.command if task.command is not None else task.arguments:
            argv.append(paths[arg["data"]] if isinstance(arg, dict) else str(arg))
        env = {k: v for k, v in os.environ.items() if not k.startswith(AGENT_ONLY_PREFIX)}
        env.update(self.base_env)
        if self.step_env is not None:
            env.update(self.step_env(task.env))
        env.update(task.env)
        if self.step_user is not None:
            env.update(HOME=self.step_user.pw_dir, USER=self.step_user.pw_name, LOGNAME=self.step_user.pw_name)
        env.update(
            {
                c.ENV_RUN_ID: task.run_id,
                c.ENV_STEP_RUN_ID: task.step_run_id,
                c.ENV_STEP_NAME: task.step_name,
                c.ENV_EXPERIMENT: task.experiment_name,
                # The step's own work folder (not its source folder): one folder fewer per step.
                c.ENV_CONTEXT_DIR: str(staged.workdir),
                "PYTHONUNBUFFERED": "1",
                **c.mlflow_env(task, str(staged.workdir)),
            }
        )
        if task.environment is not None:  # for what the step starts elsewhere (a ParallelRunStep's Dask nodes)
            env[c.ENV_ENVIRONMENT_SPEC] = json.dumps(task.environment.get("spec") or {}, sort_keys=True)
        for name, path in paths.items():
            env[f"HEADRACE_DATA_{_env_name(name)}"] = path
            env[f"AZUREML_DATAREFERENCE_{name}"] = path  # what Azure ML scripts read
        for name in datasets:
            env[name] = paths[name]  # Azure ML: a named dataset input is an environment variable
        return argv, env, out_dirs

    def _stage_input(self, name: str, binding: c.DataBinding, workdir: Path, log: list[str]) -> str:
        ds = self.resolve_datastore(binding.datastore)
        local = ds.local_path(binding.path)
        dest = workdir / "inputs" / name / (Path(binding.path).name or name)
        if not (os.path.exists(local) if local else ds.exists(binding.path)):
            # Azure ML mounts the datastore, so a path with nothing there reaches the script as a path that
            # does not exist; the script decides (the reuse key records the input as missing).
            log.append(f"input {name}: nothing at {binding.path!r} in datastore {binding.datastore!r}; "
                       "given as a path that does not exist")
            return local or str(dest)
        if binding.mode == "mount" and local:
            log.append(f"input {name}: {local} (read in place)")
            return local
        size = ds.download(binding.path, str(dest))
        log.append(f"input {name}: downloaded {size} bytes to {dest}")
        return str(dest)

    def _execute(self, task, argv, env, staged: StagedStep, started, log, upcoming) -> c.StepOutcome:
        t0 = clock.monotonic()
        # stderr is opened read-write: its tail is read back (pread) through the same descriptor.
        with open(staged.log_file("stdout.txt"), "wb") as out, open(staged.log_file("stderr.txt"), "w+b") as err:
            launch = self.step_launch if task.command is None or commands.runs_script(argv) else "spawn"
            try:
                proc = step_process.start(argv, env, staged, out, err, log, launch=launch,
                                          step_python=self.step_python, user=self.step_user)
            except OSError as exc:  # a command that cannot be executed (not a program, no permission)
                msg = commands.start_error(argv, exc)
                log.append(msg)
                return c.StepOutcome(StepStatus.FAILED, started, clock.now(), None, msg, "")
            staged.process_group = proc.pid  # its own session: the group id is its pid
            if self.process_hook is not None:
                self.process_hook(proc.pid, True)
            with self._lock:
                self._procs[task.step_run_id] = proc
                self._context_dirs[task.step_run_id] = staged.workdir
                canceled_early = task.step_run_id in self._canceled
            if canceled_early:
                step_process.kill_group(proc)
            timed_out = threading.Event()
            # A timer kills a step that runs too long; Popen.wait(timeout=...) would poll with
            # sleeps of up to 50 ms instead of returning the moment the process ends.
            timer = None
            if task.timeout_seconds is not None:
                timer = threading.Timer(task.timeout_seconds, step_process.time_out, (proc, timed_out))
                timer.daemon = True
                timer.start()
            try:
                self._stage_ahead(upcoming)  # while the process works, not after it
                proc.wait()
            finally:
                if timer is not None:
                    timer.cancel()
                if self.process_hook is not None:
                    self.process_hook(proc.pid, False)
                with self._lock:
                    self._procs.pop(task.step_run_id, None)
                    self._context_dirs.pop(task.step_run_id, None)
                    for name in (c.METRICS_FILE, c.CHILDREN_FILE):
                        self._tails.pop((task.step_run_id, name), None)
                    self._children_logs.pop(task.step_run_id, None)
                    canceled = task.step_run_id in self._canceled
                    self._canceled.discard(task.step_run_id)
            stderr_tail = step_process.tail(err)
        elapsed = clock.monotonic() - t0
        code = proc.returncode
        log.append(f"process {proc.pid} exited with code {code} after {elapsed:.3f}s")
        if canceled:
            return c.StepOutcome(StepStatus.CANCELED, started, clock.now(), code, "canceled", stderr_tail)
        if timed_out.is_set():
            msg = f"timed out after {task.timeout_seconds}s (timeout_seconds); the process was killed"
            log.append(msg)
            return c.StepOutcome(StepStatus.FAILED, started, clock.now(), code, msg, stderr_tail)
        if code != 0:
            return c.StepOutcome(
                StepStatus.FAILED, started, clock.now(), code, f"exit code {code}", stderr_tail
            )
        return c.StepOutcome(StepStatus.FINISHED, started, clock.now(), code, None, stderr_tail)

    def _stage_ahead(self, upcoming: Sequence[c.UpcomingStep]) -> None:
        for step in upcoming:
            try:
                self.stager.stage_ahead(step)
            except (HeadraceError, OSError) as exc:  # it is staged again when it runs, and fails then
                logger.info("could not stage step run %s ahead: %s", step.step_run_id, exc)
            except Exception:  # never let best-effort work leave the running process unwaited
                logger.exception("staging step run %s ahead failed", step.step_run_id)

    def _finish_logs(self, task: c.StepTask, log_dir: Path, workdir: Path | None, log: list[str]) -> None:
        text = ("\n".join(log) + "\n").encode("utf-8")
        moved = not self.writes_execution_log  # a Dask worker's agent writes it, with the attempts it saw
        if workdir is not None and not moved:
            # Written into the pre-created file, then moved into place: cheaper than creating one there.
            try:
                with open(workdir / "execution.log", "r+b") as f:
                    f.write(text)
                    f.truncate()
                os.replace(workdir / "execution.log", log_dir / "execution.log")
                moved = True
            except OSError:
                pass
        if not moved:
            with open(log_dir / "execution.log", "wb") as f:
                f.write(text)
        if self.artifacts.local_path(task.log_path) is None:
            self.artifacts.upload(str(log_dir), task.log_path, overwrite=True)


def _env_name(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name).upper()


def _rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
