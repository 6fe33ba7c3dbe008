"""``ScriptRun``: the run ``Experiment.submit(ScriptRunConfig(...))`` returns, and how it is submitted."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from headrace.core.pipeline import Pipeline
from headrace.core.runconfig import ignored_settings
from headrace.core.script_run import IgnoredScriptSettingWarning, ScriptRunConfig
from headrace.errors import NotFoundError
from headrace.sdk import run_details
from headrace.sdk.runs.run import Run
from headrace.storage.records import RunKind


class ScriptRun(Run):
    """A script run: one script executed by the agent on a compute target; it ends Completed, Failed or Canceled.

    Its files are its logs (``logs/azureml/stdoutlogs.txt``, ``stderrlogs.txt``, ``executionlogs.txt``), what
    the script left in ``./outputs`` and ``./logs``, and what it uploaded.

    Example:
        >>> run = Experiment(ws, "train").submit(ScriptRunConfig("src", "train.py"))  # doctest: +SKIP
        >>> run.wait_for_completion(show_output=True); run.get_metrics()  # doctest: +SKIP
    """

    RUN_TYPE = "azureml.scriptrun"

    def _step(self) -> Any:
        steps = self._backend.list_step_runs(self.id)
        return steps[0] if steps else None

    def _log_files(self) -> dict[str, tuple[Any, str]]:
        step = self._step()
        if step is None:
            return {}
        return {name: (step, which) for name, which in run_details.STEP_LOG_FILES.items()}

    def _run_definition(self) -> dict[str, Any]:
        steps = self._backend.get_run_graph(self.id).get("steps", [])
        return run_details.run_definition(steps[0]) if steps else {}


def submit_script(experiment: Any, config: ScriptRunConfig, tags: Mapping[str, Any] | None = None,
                  description: str | None = None, parent_run_id: str | None = None) -> ScriptRun:
    """Queue a script run of ``config`` in ``experiment``; returns it at once (Queued).

    An unknown compute target is warned about and replaced by "local" (the environments and compute
    issue brings more targets); what the run configuration asks for and cannot apply is warned about too.

    Raises:
        DefinitionError: the script's folder cannot be snapshotted, or a data argument is invalid.
    """
    ws = experiment.workspace
    target = config.compute_target
    if target != "local":
        try:
            ws._backend.get_compute_target(target)
        except NotFoundError:
            warnings.warn(f"compute target {target!r} is not configured in this workspace; the script runs on "
                          "'local' (create it with ComputeTarget.create to run it there)",
                          IgnoredScriptSettingWarning, stacklevel=3)
            target = "local"
    ignored = ignored_settings(config.run_config)
    if ignored:
        from headrace.core.environment import needs_build

        runs_in = ("a uv-built virtual environment with its pip packages"
                   if needs_build(config.run_config.environment.spec()) else "the agent's Python environment")
        warnings.warn(f"script run {config.script or config.command!r}: its environment asks for {'; '.join(ignored)}, "
                      f"recorded in the run's definition but not applied; it runs in {runs_in}",
                      IgnoredScriptSettingWarning, stacklevel=3)
    pipeline = Pipeline(ws, [config.to_step(target)])
    record = ws._backend.submit_pipeline(
        pipeline, experiment.name, tags={str(k): str(v) for k, v in (tags or {}).items()}, description=description,
        kind=RunKind.SCRIPT.value, parent_run_id=parent_run_id)
    return ScriptRun(experiment, record.id, _record=record)
