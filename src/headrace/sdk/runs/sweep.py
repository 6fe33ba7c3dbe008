"""HyperDrive sweeps: ``Experiment.submit(HyperDriveConfig(...))`` and ``HyperDriveRun``.

The sweep run is a parent run (kind ``hyperdrive``) whose children are script runs, one per trial. A driver
thread in the submitting process asks the Optuna study for each trial's hyperparameters, submits the trial
(at most ``max_concurrent_runs`` at once, ``max_total_runs`` in all), reads the primary metric the trials log,
stops the ones the early termination policy rejects (the trial ends Canceled) and ends the sweep Completed
once every trial ended (Failed when none completed). The driver works through the workspace's backend, so a
sweep runs the same on an embedded workspace and against a server; an embedded workspace's process waits for
its sweeps before it exits, as it waits for its runs.
"""

from __future__ import annotations

import copy
import json
import math
import threading
from datetime import timedelta
from typing import Any

from headrace import clock
from headrace.core.sweeps import BanditPolicy, HyperDriveConfig, PrimaryMetricGoal, is_better
from headrace.logs import get_logger
from headrace.sdk.runs.run import Run
from headrace.sdk.runs.script import submit_script
from headrace.sdk.runs.sweep_study import bandit_stops, distributions, make_study, values
from headrace.storage.records import RunKind

logger = get_logger(__name__)

HYPERPARAMETERS_TAG = "hyperparameters"
"""Tag of a trial run: its hyperparameters as JSON (Azure ML tags trials the same way)."""
SWEEP_PROPERTY = "headrace.sweep"
POLL_SECONDS = 0.25


class HyperDriveRun(Run):
    """A sweep run: its children are the trials.

    Example:
        >>> hd_run = Experiment(ws, "sweep").submit(hd_config)  # doctest: +SKIP
        >>> hd_run.wait_for_completion()  # doctest: +SKIP
        >>> best = hd_run.get_best_run_by_primary_metric()  # doctest: +SKIP
    """

    RUN_TYPE = "hyperdrive"

    def _settings(self) -> dict[str, Any]:
        return json.loads(self._record.properties.get(SWEEP_PROPERTY) or "{}")

    @property
    def hyperdrive_config(self) -> dict[str, Any]:
        """The sweep's settings (sampling, primary metric, limits, policy), as recorded when it was submitted."""
        return self._settings()

    def get_metrics(self, name: str | None = None, recursive: bool = False, run_type: str | None = None,
                    populate: bool = False) -> dict[str, Any]:
        """``{trial run id: {metric: value}}`` for every trial, as Azure ML's ``HyperDriveRun.get_metrics``."""
        return {child.id: child.get_metrics(name) for child in self.get_children()}

    def get_hyperparameters(self) -> dict[str, dict[str, Any]]:
        """``{trial run id: {hyperparameter: value}}``."""
        return {c.id: json.loads(c._record.tags.get(HYPERPARAMETERS_TAG, "{}")) for c in self.get_children()}

    def get_children_sorted_by_primary_metric(self, top: int = 0, reverse: bool = False,
                                              discard_no_metric: bool = False) -> list[dict[str, Any]]:
        """The trials, best first (``reverse``: worst first): ``{"run_id", "hyperparameters", "best_primary_metric",
        "status"}`` each; trials that logged no primary metric come last (or not at all with ``discard_no_metric``)."""
        settings = self._settings()
        goal = PrimaryMetricGoal(settings.get("primary_metric_goal", "MAXIMIZE"))
        rows = []
        for child in self.get_children():
            best = best_value(child.get_metrics().get(settings.get("primary_metric_name")), goal)
            if best is None and discard_no_metric:
                continue
            rows.append({"run_id": child.id, "hyperparameters": child._record.tags.get(HYPERPARAMETERS_TAG),
                         "best_primary_metric": best, "status": child._record.status.value})
        sign = -1 if goal is PrimaryMetricGoal.MAXIMIZE else 1
        rows.sort(key=lambda r: (r["best_primary_metric"] is None, sign * (r["best_primary_metric"] or 0)))
        if reverse:
            rows = [r for r in rows if r["best_primary_metric"] is not None][::-1] + \
                   [r for r in rows if r["best_primary_metric"] is None]
        return rows[:top] if top else rows

    def get_best_run_by_primary_metric(self, include_failed: bool = True, include_canceled: bool = True,
                                       include_resume_from_runs: bool = True) -> Run | None:
        """The trial with the best primary metric, or None when no trial logged it."""
        for row in self.get_children_sorted_by_primary_metric(discard_no_metric=True):
            if (row["status"] == "Failed" and not include_failed) or (row["status"] == "Canceled" and not include_canceled):
                continue
            return Run.get(self.experiment.workspace, row["run_id"])
        return None


def best_value(logged: Any, goal: PrimaryMetricGoal) -> float | None:
    """The best of the values a trial logged for the primary metric (a value or a series)."""
    series = logged if isinstance(logged, list) else [] if logged is None else [logged]
    numbers = [float(v) for v in series if isinstance(v, int | float) and not isinstance(v, bool) and not math.isnan(v)]
    if not numbers:
        return None
    return max(numbers) if goal is PrimaryMetricGoal.MAXIMIZE else min(numbers)


def submit_sweep(experiment: Any, config: HyperDriveConfig, tags: dict[str, Any] | None = None,
                 description: str | None = None) -> HyperDriveRun:
    """Start the sweep run and its driver; returns the run at once (Running)."""
    backend = experiment.workspace._backend
    record = backend.start_run(experiment.name, kind=RunKind.SWEEP, tags=tags, description=description,
                               properties={SWEEP_PROPERTY: json.dumps(config.describe()),
                                           "primary_metric_config": json.dumps(
                                               {"name": config.primary_metric_name,
                                                "goal": config.primary_metric_goal.value})})
    run = HyperDriveRun(experiment, record.id, _record=record)
    driver = SweepDriver(experiment, config, run)
    getattr(backend, "sweeps", []).append(driver)  # an embedded workspace waits for it at exit
    driver.start()
    return run


class SweepDriver(threading.Thread):
    """Runs one sweep's trials (see the module docstring)."""

    def __init__(self, experiment: Any, config: HyperDriveConfig, run: HyperDriveRun):
        super().__init__(name=f"sweep-{run.id[:8]}", daemon=False)
        self.experiment, self.config, self.run_ = experiment, config, run
        self.backend = experiment.workspace._backend
        self.space = config.hyperparameter_sampling.parameter_space
        self.active: dict[str, dict[str, Any]] = {}  # trial run id -> its Optuna trial and what was read
        self.best: float | None = None  # the best primary metric value any trial logged so far (Bandit)
        self.stop_event = threading.Event()

    def run(self) -> None:
        try:
            self._drive()
        except Exception as exc:  # the sweep must end, whatever broke
            logger.exception("sweep %s failed", self.run_.id)
            for run_id in list(self.active):
                self._quietly(lambda r=run_id: self.backend.end_run(r, "Canceled"))
            why = f"the sweep driver failed: {exc!r}"
            self._quietly(lambda: self.backend.end_run(self.run_.id, "Failed", why))

    def _drive(self) -> None:
        import optuna

        cfg = self.config
        study = make_study(cfg)
        sampling = cfg.hyperparameter_sampling
        total = min(cfg.max_total_runs, len(sampling.grid())) if hasattr(sampling, "grid") else cfg.max_total_runs
        dists = distributions(self.space)
        deadline = clock.now() + timedelta(minutes=cfg.max_duration_minutes)
        started, completed = 0, 0
        while True:
            if self.backend.get_run(self.run_.id).status.is_terminal:  # canceled: the trials go too
                for run_id in list(self.active):
                    self._quietly(lambda r=run_id: self.backend.end_run(r, "Canceled"))
                return
            while started < total and len(self.active) < cfg.max_concurrent_runs and clock.now() < deadline:
                trial = study.ask(dists)
                params = values(self.space, trial.params)
                self._submit(trial, params)
                started += 1
            for run_id in list(self.active):
                if self._check(run_id, study, optuna):
                    completed += self.active.pop(run_id)["completed"]
            if not self.active and (started >= total or clock.now() >= deadline):
                break
            if clock.now() >= deadline:
                for run_id in list(self.active):
                    self._quietly(lambda r=run_id: self.backend.end_run(r, "Canceled"))
            self.stop_event.wait(POLL_SECONDS)
        best = self.run_.get_best_run_by_primary_metric()
        if best is not None:
            self.backend.add_properties(self.run_.id, None, {"best_child_run_id": best.id})
        if completed:
            self.backend.end_run(self.run_.id, "Completed")
        else:
            self.backend.end_run(self.run_.id, "Failed", "no trial completed")

    def _submit(self, trial: Any, params: dict[str, Any]) -> None:
        config = copy.copy(self.config.run_config)
        config.arguments = list(config.arguments)
        for name, value in params.items():
            config.arguments += [name if name.startswith("-") else f"--{name}", value]
        child = submit_script(self.experiment, config, tags={HYPERPARAMETERS_TAG: json.dumps(params)},
                              parent_run_id=self.run_.id)
        self.active[child.id] = {"trial": trial, "seen": 0, "pruned": False, "completed": 0}

    def _check(self, run_id: str, study: Any, optuna: Any) -> bool:
        """Read a trial's new values, apply the policy; True once it ended (it is then told to the study)."""
        state = self.active[run_id]
        trial, goal, policy = state["trial"], self.config.primary_metric_goal, self.config.policy
        record = self.backend.get_run(run_id)
        logged = self.backend.run_metrics(run_id).get(self.config.primary_metric_name)
        series = logged if isinstance(logged, list) else [] if logged is None else [logged]
        for step in range(state["seen"], len(series)):
            value = series[step]
            if not isinstance(value, int | float) or isinstance(value, bool):
                continue
            trial.report(float(value), step)
            best = self.best  # Bandit: the best value any trial logged so far
            if self.best is None or is_better(float(value), self.best, goal):
                self.best = float(value)
            if record.status.is_terminal or state["pruned"] or not policy.due(step):
                continue
            stop = bandit_stops(policy, goal, float(value), best) if isinstance(policy, BanditPolicy) \
                else trial.should_prune()
            if stop:
                state["pruned"] = True
                logger.info("sweep %s: early termination of trial %s at value %s", self.run_.id, run_id, value)
                self.backend.end_run(run_id, "Canceled", f"stopped by the {policy.POLICY_NAME} policy")
        state["seen"] = len(series)
        if not record.status.is_terminal:
            return False
        best = best_value(logged, goal)
        if state["pruned"] or record.status.value == "Canceled":
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        elif record.status.succeeded and best is not None:
            study.tell(trial, best)
            state["completed"] = 1
        else:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            state["completed"] = int(record.status.succeeded)
        return True

    def _quietly(self, call: Any) -> None:
        try:
            call()
        except Exception:
            logger.exception("sweep %s: cleanup call failed", self.run_.id)


__all__ = ["HyperDriveRun", "SweepDriver", "best_value", "submit_sweep"]
