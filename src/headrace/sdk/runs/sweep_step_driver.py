"""The process of a ``HyperDriveStep``: runs the sweep's trials as processes of the training script.

The sweep logic is ``SweepDriver``'s (Optuna study, policies, limits); only where trials run differs: here
each trial is a process of the training script in its own copy of the step's working folder, with a context
folder of its own, so ``Run.get_context()`` in the trial is the trial's run (its ``parent`` is the sweep).
The driver reads each trial's values as they are logged (the policies need them) and records the sweep and
its trials as child runs of the step run (``Run.child_run``) as they go: a trial is a child run from its start,
its values, tags and properties are passed on as the driver reads them, and when it ends its ending and its
files (``./outputs``, ``./logs``, uploads, its stdout and stderr) follow. What it logs with ``mlflow`` (the
step's tracking store, pointed at its context folder) is passed on the same way. The agent stores child runs while the
step runs (``engine.child_runs``), so the sweep shows live, as a standalone one does.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from headrace.core import sweeps as s
from headrace.core.script_run import ScriptRunConfig
from headrace.engine import compute as c
from headrace.engine.run_files import jsonl
from headrace.logs import get_logger
from headrace.sdk.context import current_run
from headrace.sdk.runs.sweep import HYPERPARAMETERS_TAG, SWEEP_PROPERTY, SweepDriver, best_value
from headrace.storage.records import RunStatus

logger = get_logger(__name__)

_SAMPLINGS = {"RANDOM": s.RandomParameterSampling, "GRID": s.GridParameterSampling,
              "BayesianOptimization": s.BayesianParameterSampling}


def rebuild_config(sweep: dict[str, Any], script: str) -> s.HyperDriveConfig:
    """The ``HyperDriveConfig`` described by ``sweep`` (``HyperDriveConfig.describe()`` plus the policy)."""
    space = {name: s.ParameterExpression(kind, tuple(args))
             for name, (kind, args) in sweep["sampling"]["parameter_space"].items()}
    sampling = _SAMPLINGS[sweep["sampling"]["name"]](space, sweep["sampling"].get("properties"))
    policy_class = getattr(s, sweep["policy_object"]["class"])
    policy = policy_class(**sweep["policy_object"]["args"])
    return s.HyperDriveConfig(sampling, sweep["primary_metric_name"], s.PrimaryMetricGoal(sweep["primary_metric_goal"]),
                              max_total_runs=sweep["max_total_runs"], max_concurrent_runs=sweep["max_concurrent_runs"],
                              max_duration_minutes=sweep["max_duration_minutes"], policy=policy,
                              run_config=ScriptRunConfig(".", script))


class LocalTrials:
    """The backend ``SweepDriver`` talks to: trials are processes here, the sweep a child run of the step."""

    def __init__(self, sweep_run: Any, script: str, arguments: list[str], root: Path):
        self.sweep_run = sweep_run
        self.script, self.arguments, self.root = script, arguments, root
        self.trials: dict[str, dict[str, Any]] = {}
        self.sweep_status = RunStatus.RUNNING

    def start(self, params: dict[str, Any]) -> str:
        """Start a trial with these hyperparameters; returns its run id."""
        trial_id = uuid.uuid4().hex
        name = f"{self.sweep_run.id}_{len(self.trials)}"
        folder = self.root / name
        shutil.copytree(Path.cwd(), folder / "work", ignore=shutil.ignore_patterns(*c.CAPTURED_FOLDERS),
                        symlinks=True)
        (folder / "context").mkdir()
        argv = [sys.executable, self.script, *self.arguments]
        for key, value in params.items():
            argv += [key if key.startswith("-") else f"--{key}", str(value)]
        env = {**os.environ, c.ENV_RUN_ID: trial_id, c.ENV_STEP_RUN_ID: trial_id, c.ENV_RUN_KIND: "script",
               c.ENV_PARENT_RUN_ID: self.sweep_run.id, c.ENV_CONTEXT_DIR: str(folder / "context"),
               "MLFLOW_TRACKING_URI": f"{c.MLFLOW_STEP_SCHEME}://{folder / 'context'}", "MLFLOW_RUN_ID": trial_id}
        child = self.sweep_run.child_run(name, run_id=trial_id)
        child.tag(HYPERPARAMETERS_TAG, json.dumps(params))
        with open(folder / "stdout.txt", "wb") as out, open(folder / "stderr.txt", "wb") as err:
            proc = subprocess.Popen(argv, cwd=folder / "work", env=env, stdout=out, stderr=err)
        print(f"trial {name} ({trial_id}): {' '.join(argv[1:])}", flush=True)
        self.trials[trial_id] = {"name": name, "folder": folder, "proc": proc, "params": params, "child": child,
                                 "status": RunStatus.RUNNING, "error": None, "passed": {}, "recorded": False}
        return trial_id

    def get_run(self, run_id: str) -> Any:
        if run_id == self.sweep_run.id:
            return SimpleNamespace(status=self.sweep_status)
        trial = self.trials[run_id]
        code = trial["proc"].poll()
        if trial["status"] is RunStatus.RUNNING and code is not None:
            ended = [line for line in jsonl(trial["folder"] / "context" / c.STATUS_FILE) if line.get("scope") == "parent"]
            told = ended[0].get("status") if ended else None
            if code != 0:
                trial["status"], trial["error"] = RunStatus.FAILED, f"the script exited with code {code}"
            elif told in ("Failed", "Canceled"):
                trial["status"], trial["error"] = RunStatus(told), ended[0].get("error")
            else:
                trial["status"] = RunStatus.COMPLETED
            self._record(run_id)
        return SimpleNamespace(status=trial["status"])

    def run_metrics(self, run_id: str) -> dict[str, Any]:
        """What the trial logged so far: name -> value, or a list for a series (passed on to its child run)."""
        lines = self._pass_on(run_id)
        grouped: dict[str, list[Any]] = {}
        for line in lines:
            grouped.setdefault(str(line["name"]), []).append(line.get("value"))
        return {k: v[0] if len(v) == 1 else v for k, v in grouped.items()}

    def end_run(self, run_id: str, status: str, error: str | None = None) -> None:
        if run_id == self.sweep_run.id:
            self.sweep_status = RunStatus(status)
            if error:
                self.sweep_run.add_properties({"error": error})
            return
        trial = self.trials[run_id]
        if trial["proc"].poll() is None:
            trial["proc"].kill()
            trial["proc"].wait()
        if trial["status"] is RunStatus.RUNNING:
            trial["status"], trial["error"] = RunStatus(status), error
        self._record(run_id)

    def add_properties(self, run_id: str, _step_run_id: Any, properties: dict[str, Any]) -> None:
        self.sweep_run.add_properties(properties)

    def _lines(self, run_id: str, filename: str) -> list[dict[str, Any]]:
        return jsonl(self.trials[run_id]["folder"] / "context" / filename, quiet=True)

    def _pass_on(self, run_id: str) -> list[dict[str, Any]]:
        """Give the trial's child run the values, tags and properties the trial logged since; its metric lines."""
        trial = self.trials[run_id]
        child, passed = trial["child"], trial["passed"]
        by_file: dict[str, list[dict[str, Any]]] = {}
        for filename in (c.METRICS_FILE, c.TAGS_FILE, c.PROPERTIES_FILE, c.PARAMS_FILE):
            lines = by_file[filename] = self._lines(run_id, filename)
            new, passed[filename] = lines[passed.get(filename, 0):], len(lines)
            for line in new:
                if filename == c.METRICS_FILE:
                    child._emit([{k: v for k, v in line.items() if k != "scope"}])
                elif filename == c.TAGS_FILE:
                    child.tag(line["key"], line["value"])
                elif filename == c.PROPERTIES_FILE:
                    child.add_properties(line.get("values") or {})
            if filename == c.PARAMS_FILE and new:  # ``mlflow.log_param`` in the trial: a property, as on any run
                params: dict[str, str] = {}
                for line in lines:
                    params.setdefault(str(line["key"]), str(line["value"]))  # an MLflow param never changes
                child.add_properties({c.MLFLOW_PARAMS_PROPERTY: params})
        return by_file[c.METRICS_FILE]

    def _record(self, run_id: str) -> None:
        """The trial ended: its child run gets what is left of its values, its files and its ending (once)."""
        trial = self.trials[run_id]
        if trial["recorded"] or trial["status"] is RunStatus.RUNNING:
            return
        trial["recorded"] = True
        child, folder = trial["child"], trial["folder"]
        self._pass_on(run_id)
        logs = Path("logs") / "trials" / trial["name"]  # also in the step's files, as before trials kept theirs
        logs.mkdir(parents=True, exist_ok=True)
        for name in ("stdout.txt", "stderr.txt"):
            shutil.copyfile(folder / name, logs / name)
        keep = child._files_root()
        if keep is not None:
            for name in c.CAPTURED_FOLDERS:
                if (folder / "work" / name).is_dir():
                    shutil.copytree(folder / "work" / name, keep / name, symlinks=True, dirs_exist_ok=True)
            if (folder / "context" / c.FILES_DIR).is_dir():
                shutil.copytree(folder / "context" / c.FILES_DIR, keep, symlinks=True, dirs_exist_ok=True)
            (keep / "logs" / "azureml").mkdir(parents=True, exist_ok=True)
            for name, kept in (("stdout.txt", "stdoutlogs.txt"), ("stderr.txt", "stderrlogs.txt")):
                shutil.copyfile(folder / name, keep / "logs" / "azureml" / kept)
        status = trial["status"]
        if status is RunStatus.COMPLETED:
            child.complete()
        elif status is RunStatus.CANCELED:
            child._write(c.STATUS_FILE, {"status": "Canceled", "error": trial["error"]})
        else:
            child.fail(trial["error"] or "the trial did not end")

    def record(self) -> None:
        """End the child runs of trials still open (none once the driver ran to its end)."""
        for trial_id, trial in self.trials.items():
            if trial["status"] is RunStatus.RUNNING:
                self.end_run(trial_id, "Canceled", "the sweep ended before the trial")


class StepSweepDriver(SweepDriver):
    """``SweepDriver`` with trials started by ``LocalTrials`` (run in this process, not as a thread)."""

    def __init__(self, config: s.HyperDriveConfig, trials: LocalTrials):
        threading.Thread.__init__(self, name="hyperdrive-step", daemon=False)
        self.experiment, self.config, self.backend = None, config, trials
        self.run_ = SimpleNamespace(id=trials.sweep_run.id, get_best_run_by_primary_metric=self._best)
        self.space = config.hyperparameter_sampling.parameter_space
        self.active: dict[str, dict[str, Any]] = {}
        self.best: float | None = None
        self.stop_event = threading.Event()

    def _submit(self, trial: Any, params: dict[str, Any]) -> None:
        run_id = self.backend.start(params)
        self.active[run_id] = {"trial": trial, "seen": 0, "pruned": False, "completed": 0}

    def _best(self) -> Any:
        """The trial with the best primary metric (completed ones first), or None."""
        goal, name = self.config.primary_metric_goal, self.config.primary_metric_name
        scored = [(best_value(self.backend.run_metrics(t).get(name), goal), t) for t in self.backend.trials]
        scored = [(v, t) for v, t in scored if v is not None]
        if not scored:
            return None
        sign = -1 if goal is s.PrimaryMetricGoal.MAXIMIZE else 1
        scored.sort(key=lambda vt: (self.backend.trials[vt[1]]["status"] is not RunStatus.COMPLETED, sign * vt[0]))
        logger.info("best trial by %s: %s", name, scored[0][1])
        return SimpleNamespace(id=scored[0][1])


def _parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    split = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(prog="hyperdrive-step")
    parser.add_argument("--script", required=True)
    parser.add_argument("--metrics-output", action="append", default=[])
    parser.add_argument("--model-output", action="append", nargs=2, default=[])
    return parser.parse_args(argv[:split]), argv[split + 1:]


def main(sweep: dict[str, Any], argv: list[str]) -> int:
    """Run the sweep; 0 when at least one trial completed, 1 otherwise."""
    args, arguments = _parse(argv)
    config = rebuild_config(sweep, args.script)
    step_run = current_run(allow_offline=False)
    sweep_run = step_run.child_run(f"HD_{step_run.id}", _kind="hyperdrive")
    sweep_run.add_properties({SWEEP_PROPERTY: json.dumps(config.describe()), "primary_metric_config": json.dumps(
        {"name": config.primary_metric_name, "goal": config.primary_metric_goal.value})})
    with tempfile.TemporaryDirectory(prefix="hyperdrive-") as root:
        trials = LocalTrials(sweep_run, args.script, arguments, Path(root))
        driver = StepSweepDriver(config, trials)
        driver.run()
        best = driver._best()
        _write_outputs(trials, best.id if best else None, args)
        best_value = trials.run_metrics(best.id).get(config.primary_metric_name) if best else None  # folders go next
        trials.record()
    done = trials.sweep_status
    if done is RunStatus.COMPLETED:
        sweep_run.complete()
    else:
        sweep_run.fail(f"the sweep ended {done.value}")
    if best is not None:
        step_run.add_properties({"best_child_run_id": best.id})
        shown = f"{best_value[-1]} (last of {len(best_value)})" if isinstance(best_value, list) else best_value
        print(f"best trial: {trials.trials[best.id]['name']} ({best.id}) {config.primary_metric_name}={shown}")
    return 0 if done is RunStatus.COMPLETED else 1


def _write_outputs(trials: LocalTrials, best_id: str | None, args: argparse.Namespace) -> None:
    """Azure ML's ``TrainingOutput`` outputs: ``Metrics`` is one JSON file (``{trial run id: metrics}``) and
    ``Model`` with ``model_file`` the best trial's file itself, at the output's path (its notebook opens
    the one and copies the other); ``Model`` without ``model_file`` gets the best trial's ``./outputs``."""
    metrics = {trial_id: trials.run_metrics(trial_id) for trial_id in trials.trials}
    for path in args.metrics_output:
        _as_file(path).write_text(json.dumps(metrics, indent=2, default=str), encoding="utf-8")
    if best_id is None:
        return
    work = trials.trials[best_id]["folder"] / "work"
    for path, model_file in args.model_output:
        source = work / (model_file or "outputs")
        if source.is_file():
            shutil.copyfile(source, _as_file(path))
        elif source.is_dir():
            shutil.copytree(source, path, dirs_exist_ok=True)
        else:
            print(f"best trial left no {model_file or 'outputs'!r}: model output {path} stays empty", flush=True)


def _as_file(path: str) -> Path:
    """The output's path, to hold one file: the folder the engine made for it (still empty) gives way."""
    target = Path(path)
    if target.is_dir() and not any(target.iterdir()):
        target.rmdir()
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


__all__ = ["LocalTrials", "StepSweepDriver", "main", "rebuild_config"]
