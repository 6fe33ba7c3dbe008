"""``CommandStep``: a pipeline step that runs a command (``ls -l``, ``python train.py``, ``bash run.sh``).

The command runs in the step's snapshot folder as its own process, with the step's data bound as for a
``PythonScriptStep``: data handles and parameters in the command list become local paths and values. A list
is the argv after its first item is split (as Azure ML does, so ``["python train.py --epochs 30"]`` works);
a string is split with ``shlex``. No shell runs unless the command asks for one (``bash -c "..."``).
``python`` / ``python3`` as the executable mean the step's interpreter: its environment's when it has one,
else the agent's.
"""

from __future__ import annotations

import shlex
from typing import Any

from headrace.core.step import PythonScriptStep
from headrace.errors import DefinitionError

PYTHON_NAMES = ("python", "python3")
"""Executables that mean the step's interpreter (its environment's, else the agent's)."""


def split_command(command: Any, what: str) -> list[Any]:
    """The argv of an Azure ML command: a string split with shlex; a list whose first item is split the same way.

    Raises:
        DefinitionError: the command is empty, or neither a string nor a list starting with a string.
    """
    if isinstance(command, str):
        parts: list[Any] = shlex.split(command)
    elif isinstance(command, list | tuple) and command and isinstance(command[0], str):
        parts = [*shlex.split(command[0]), *command[1:]]
    else:
        raise DefinitionError([f"{what}: command {command!r} is invalid; give a string ('ls -l') or a list "
                               "starting with the executable (['python', 'train.py', '--data', data])"])
    if not parts:
        raise DefinitionError([f"{what}: command {command!r} is empty; give the executable to run"])
    return parts


class CommandStep(PythonScriptStep):
    """Run a command as a pipeline step (Azure ML's ``azureml.pipeline.steps.CommandStep``).

    Attributes:
        command: the argv: the executable (a str), then its arguments (str, numbers, data handles,
            ``PipelineParameter``), which are replaced by their values and local paths.
        arguments: ``command[1:]`` (what Azure ML calls the step's arguments).

    Other attributes are those of ``PythonScriptStep``; ``script_name`` is None.

    Example:
        >>> step = CommandStep(command="ls -l", name="list")
        >>> step.command
        ['ls', '-l']
    """

    kind = "command"

    def __init__(self, command: Any = None, name: str | None = None, compute_target: Any = None,
                 runconfig: Any = None, runconfig_pipeline_params: dict[str, Any] | None = None,
                 inputs: list[Any] | None = None, outputs: list[Any] | None = None,
                 params: dict[str, Any] | None = None, source_directory: Any = None, allow_reuse: bool = True,
                 version: str | None = None, *, environment_variables: dict[str, str] | None = None,
                 timeout_seconds: int | None = None, environment: Any = None,
                 resources: dict[str, float] | None = None):
        """Create a command step (Azure ML's argument order; the last four are headrace's, keyword only).

        Args:
            command: a string (split with shlex) or a list (its first item split, the rest kept as they are:
                str, int, float, bool, ``PipelineParameter``, ``PipelineData``, ``DataPath``, datasets,
                ``OutputFileDatasetConfig``). Required unless ``runconfig`` carries one.
            name: the step name; default ``CommandStep_<executable>``, as in Azure ML.
            compute_target: as for ``PythonScriptStep``; default the runconfig's target, else "local".
            runconfig: a ``ScriptRunConfig`` (its command, source folder, environment and target are used) or
                a ``RunConfiguration`` (its ``command`` when ``command`` is not given).
            runconfig_pipeline_params: accepted for Azure ML code; recorded, not applied.
            inputs: data the command reads (data in the command list is added).
            outputs: data the command writes (``OutputFileDatasetConfig`` in the command list is added).
            params: name -> value, given as ``AML_PARAMETER_<name>`` variables.
            source_directory: the folder the command runs in (snapshotted); default the pipeline's, else the
                working directory.
            allow_reuse: reuse an earlier run's results when nothing changed (the command is in the key).
            version: a free-form version tag.
            environment_variables: extra environment variables for the command.
            timeout_seconds: time limit, or None (a ``ScriptRunConfig``'s ``max_run_duration_seconds`` otherwise).
            environment: an ``Environment``; ``python`` in the command then means its interpreter.
            resources: Dask resources the step asks of its worker.

        Raises:
            DefinitionError: no command, or an invalid one (and everything ``PythonScriptStep`` checks).
        """
        from headrace.core.script_run import MAX_DURATION_SECONDS_DEFAULT, ScriptRunConfig

        if isinstance(runconfig, ScriptRunConfig):
            source_directory = source_directory or runconfig.source_directory
            command = command or runconfig.command
            if environment is None and callable(getattr(runconfig.environment, "_headrace_environment", None)):
                environment = runconfig.environment
            seconds = runconfig.max_run_duration_seconds
            if timeout_seconds is None and seconds and seconds != MAX_DURATION_SECONDS_DEFAULT:
                timeout_seconds = int(seconds)
            runconfig = runconfig.run_config
        if not command and runconfig is not None:
            command = getattr(runconfig, "command", None) or None
        label = name if isinstance(name, str) else "CommandStep"
        if not command:
            raise DefinitionError([f"step {label!r}: a command is required, given as command= or in the runconfig"])
        parts = split_command(command, f"step {label!r}")
        if name is None:
            name = f"CommandStep_{parts[0]}"
        super().__init__(script_name=parts[0], name=name, arguments=parts[1:], compute_target=compute_target,
                         runconfig=runconfig, runconfig_pipeline_params=runconfig_pipeline_params, inputs=inputs,
                         outputs=outputs, params=params, source_directory=source_directory, allow_reuse=allow_reuse,
                         version=version, environment_variables=environment_variables,
                         timeout_seconds=timeout_seconds, environment=environment, resources=resources)
        self.executable = parts[0]
        self.script_name = None  # type: ignore[assignment]

    @property
    def command(self) -> list[Any]:
        """The argv: the executable, then the arguments (data and parameters as given)."""
        return [self.executable, *self.arguments]

    def __repr__(self) -> str:
        return f"CommandStep(name={self.name!r}, command={shlex.join(str(a) for a in self.command)!r})"


def command_text(graph_step: dict[str, Any]) -> str | None:
    """A frozen command step's command as one line (data as ``$AZUREML_DATAREFERENCE_<name>``, parameters as
    ``$AML_PARAMETER_<name>``, as Azure ML's run definition shows them); None for a script step."""
    if graph_step.get("kind") != "command" or not isinstance(graph_step.get("command"), list):
        return None
    words = []
    for item in graph_step["command"]:
        if not isinstance(item, dict):
            words.append(shlex.quote(str(item)))
        elif "literal" in item:
            words.append(shlex.quote(str(item["literal"])))
        elif "data" in item:
            words.append(f"$AZUREML_DATAREFERENCE_{item['data']}")
        else:
            words.append(f"$AML_PARAMETER_{item.get('param')}")
    return " ".join(words)
