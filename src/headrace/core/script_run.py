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
from headrace.core.command_step import PYTHON_NAMES, CommandStep, split_command
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
        command: instead of ``script`` + ``arguments``: a list (``["python", "train.py", "--lr", 0.1]``, its first
            item split as Azure ML does) or a string (``"ls -l"``, split with shlex). ``python script.py ...`` runs
            as that script; any other command runs as a ``CommandStep`` would (in the snapshot folder, no shell).
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
        self.command = command
        if command is not None and script is None:
            script, arguments = _from_command(command)
        elif not isinstance(script, str) or not script.strip():
            raise DefinitionError([f"ScriptRunConfig: script {script!r} is invalid; give the script's path "
                                   "relative to source_directory"])
        if arguments is not None and not isinstance(arguments, list | tuple):
            raise DefinitionError([f"ScriptRunConfig: arguments must be a list, not {type(arguments).__name__}"])
        self.source_directory = os.path.abspath(os.fspath(source_directory))
        self.script: str | None = script
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
            warnings.warn(f"ScriptRunConfig({script or command!r}): {', '.join(ignored)} recorded, not applied: the script runs "
                          "as one process on its compute target", IgnoredScriptSettingWarning, stacklevel=2)

    @property
    def compute_target(self) -> str:
        """The compute target's name ("local" unless set)."""
        return self.run_config.target or "local"

    def _set_environment(self, environment: Any) -> None:
        if callable(getattr(environment, "_headrace_environment", None)):
            self.run_config.environment = environment  # as Azure ML does: the run configuration carries it
            return
        warnings.warn(f"ScriptRunConfig({self.script or self.command!r}): environment {getattr(environment, 'name', environment)!r} "
                      "is not an Environment; the script runs in the agent's Python",
                      IgnoredScriptSettingWarning, stacklevel=3)

    def to_step(self, compute_target: str | None = None) -> PythonScriptStep:
        """The one step a script run executes (never reused); data arguments become its inputs."""
        arguments = self.arguments if self.script is not None else split_command(self.command, "ScriptRunConfig")
        inputs = [a for a in arguments if data_ref(a) is not None and data_ref(a).kind != "pipeline_data"]
        timeout = None
        if self.max_run_duration_seconds and self.max_run_duration_seconds != MAX_DURATION_SECONDS_DEFAULT:
            timeout = int(self.max_run_duration_seconds)
        environment = self.environment if callable(getattr(self.environment, "_headrace_environment", None)) else None
        with warnings.catch_warnings():
            # What the run configuration asks for and cannot apply is said once, at submit.
            warnings.simplefilter("ignore")
            if self.script is None:
                return CommandStep(self.command, name=str(arguments[0]), source_directory=self.source_directory,
                                   inputs=inputs, compute_target=compute_target or self.compute_target,
                                   runconfig=self.run_config, allow_reuse=False, timeout_seconds=timeout,
                                   environment=environment)
            return PythonScriptStep(environment=environment,
                name=PurePosixPath(self.script.replace("\\", "/")).name, script_name=self.script,
                source_directory=self.source_directory, arguments=list(self.arguments), inputs=inputs,
                compute_target=compute_target or self.compute_target, runconfig=self.run_config, allow_reuse=False,
                timeout_seconds=timeout)

    def __repr__(self) -> str:
        return f"ScriptRunConfig(script={self.script!r}, compute_target={self.compute_target!r})"


def _from_command(command: Any) -> tuple[str | None, list[Any]]:
    """``python script.py *args`` as (script, args), so it runs as that script (a sweep adds to its arguments);
    (None, []) for any other command, which runs as a ``CommandStep``."""
    parts = split_command(command, "ScriptRunConfig")
    if len(parts) >= 2 and parts[0] in PYTHON_NAMES and isinstance(parts[1], str) and parts[1].endswith(".py"):
        return parts[1], parts[2:]
    return None, []
