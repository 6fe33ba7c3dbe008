"""``ScriptRunConfig``: what a script run executes (Azure ML's single-script training job).

A script run is executed as a graph of one step, so it gets everything a pipeline step has (snapshot,
data arguments, logs, compute targets, cancellation) and nothing a pipeline run has that a script run
must not (reuse: a script run always runs).
"""

from __future__ import annotations

import copy
import os
import warnings
from pathlib import PurePosixPath
from typing import Any

from headrace.core._refs import data_ref
from headrace.core.runconfig import RunConfiguration
from headrace.core.step import PythonScriptStep
from headrace.errors import DefinitionError

MAX_DURATION_SECONDS_DEFAULT = 2592000
"""Azure ML's default time limit of a script run (30 days)."""


class IgnoredScriptSettingWarning(UserWarning):
    """A ``ScriptRunConfig`` asks for something this workspace cannot apply (the run goes ahead without it)."""


class ScriptRunConfig:
    """A script to run as an experiment's run: ``Experiment(ws, "train").submit(ScriptRunConfig(...))``.

    Args:
        source_directory: the folder holding the script (snapshotted at submit).
        script: the script, relative to ``source_directory``.
        arguments: command-line arguments: str, int, float, bool, or data (``DataPath``, datasets'
            ``as_named_input(...).as_mount()``, ``OutputFileDatasetConfig``), replaced by local paths.
        run_config: a ``RunConfiguration`` (its environment variables and target apply).
        compute_target: a compute target name or object; an unknown one is warned about at submit and
            the run goes to "local".
        environment: an ``Environment`` (built with uv from its pip packages); set on the run configuration
            as Azure ML does.
        max_run_duration_seconds: stop the script after this long.
        command: ``["python", "train.py", "--lr", 0.1]`` instead of ``script`` + ``arguments``.
        docker_runtime_config, distributed_job_config, resume_from: accepted and recorded (warned about).

    Example:
        >>> src = ScriptRunConfig(source_directory="scripts", script="train.py", arguments=["--lr", 0.1])
        >>> src.script, src.arguments
        ('train.py', ['--lr', 0.1])
    """

    MAX_DURATION_SECONDS_DEFAULT = MAX_DURATION_SECONDS_DEFAULT

    def __init__(self, source_directory: str | os.PathLike[str], script: str | None = None,
                 arguments: list[Any] | None = None, run_config: RunConfiguration | None = None,
                 _telemetry_values: Any = None, compute_target: Any = None, environment: Any = None,
                 distributed_job_config: Any = None, resume_from: Any = None,
                 max_run_duration_seconds: int | None = MAX_DURATION_SECONDS_DEFAULT, command: Any = None,
                 docker_runtime_config: Any = None):
        if command is not None and script is None:
            script, arguments = _from_command(command)
        if not isinstance(script, str) or not script.strip():
            raise DefinitionError([f"ScriptRunConfig: script {script!r} is invalid; give the script's path "
                                   "relative to source_directory"])
        if arguments is not None and not isinstance(arguments, list | tuple):
            raise DefinitionError([f"ScriptRunConfig: arguments must be a list, not {type(arguments).__name__}"])
        self.source_directory = os.path.abspath(os.fspath(source_directory))
        self.script = script
        self.arguments = list(arguments or [])
        self.run_config = copy.copy(run_config) if run_config is not None else RunConfiguration()
        if compute_target is not None:
            self.run_config.target = compute_target
        if environment is not None:
            self._set_environment(environment)
        self.environment = environment
        self.max_run_duration_seconds = max_run_duration_seconds
        self.docker_runtime_config = docker_runtime_config
        self.distributed_job_config = distributed_job_config
        self.resume_from = resume_from
        ignored = [name for name, value in (("docker_runtime_config", docker_runtime_config),
                                            ("distributed_job_config", distributed_job_config),
                                            ("resume_from", resume_from)) if value is not None]
        if ignored:
            warnings.warn(f"ScriptRunConfig({script!r}): {', '.join(ignored)} recorded, not applied: the script runs "
                          "as one process on its compute target", IgnoredScriptSettingWarning, stacklevel=2)

    @property
    def compute_target(self) -> str:
        """The compute target's name ("local" unless set)."""
        return self.run_config.target or "local"

    def _set_environment(self, environment: Any) -> None:
        if callable(getattr(environment, "_headrace_environment", None)):
            self.run_config.environment = environment  # as Azure ML does: the run configuration carries it
            return
        warnings.warn(f"ScriptRunConfig({self.script!r}): environment {getattr(environment, 'name', environment)!r} "
                      "is not an Environment; the script runs in the agent's Python",
                      IgnoredScriptSettingWarning, stacklevel=3)

    def to_step(self, compute_target: str | None = None) -> PythonScriptStep:
        """The one step a script run executes (never reused); data arguments become its inputs."""
        inputs = [a for a in self.arguments if data_ref(a) is not None and data_ref(a).kind != "pipeline_data"]
        timeout = None
        if self.max_run_duration_seconds and self.max_run_duration_seconds != MAX_DURATION_SECONDS_DEFAULT:
            timeout = int(self.max_run_duration_seconds)
        environment = self.environment if callable(getattr(self.environment, "_headrace_environment", None)) else None
        with warnings.catch_warnings():
            # What the run configuration asks for and cannot apply is said once, at submit.
            warnings.simplefilter("ignore")
            return PythonScriptStep(environment=environment,
                name=PurePosixPath(self.script.replace("\\", "/")).name, script_name=self.script,
                source_directory=self.source_directory, arguments=list(self.arguments), inputs=inputs,
                compute_target=compute_target or self.compute_target, runconfig=self.run_config, allow_reuse=False,
                timeout_seconds=timeout)

    def __repr__(self) -> str:
        return f"ScriptRunConfig(script={self.script!r}, compute_target={self.compute_target!r})"


def _from_command(command: Any) -> tuple[str | None, list[Any]]:
    parts = command.split() if isinstance(command, str) else list(command)
    if len(parts) >= 2 and str(parts[0]) in ("python", "python3") and str(parts[1]).endswith(".py"):
        return str(parts[1]), parts[2:]
    raise DefinitionError([f"ScriptRunConfig: command {command!r} is not supported; give "
                           "['python', 'script.py', *arguments] or script= and arguments="])
