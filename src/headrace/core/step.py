"""Pipeline steps.

A step is a description of one script run: what to run, with which arguments, reading which data and
writing which data. The constructor only checks what it must to build the object; `Pipeline.validate()`
reports every other problem at once.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

from headrace.core.params import PipelineData
from headrace.errors import DefinitionError

_creation_order = itertools.count()


class PythonScriptStep:
    """Run a Python script as a pipeline step.

    Attributes:
        name: the step name, unique within a pipeline.
        script_name: the script, relative to `source_directory`.
        source_directory: absolute path of the folder holding the script, or None to use the pipeline's
            `default_source_directory` (or the working directory when the pipeline has none).
        arguments: command-line arguments; data handles and parameters are replaced by their values.
        inputs: data the step reads.
        outputs: `PipelineData` the step writes.
        allow_reuse: whether an unchanged step may reuse the results of an earlier run.
        compute_target: name of the compute target that runs the step.
        environment_variables: extra environment variables for the script.
        timeout_seconds: stop the step after this long; None for no limit.

    Example:
        >>> step = PythonScriptStep(name="prep", script_name="prep.py", source_directory="scripts",
        ...                         arguments=["--n", 5])
        >>> step.arguments
        ['--n', 5]
    """

    kind = "python_script"

    def __init__(
        self,
        name: str,
        script_name: str,
        source_directory: str | os.PathLike[str] | None = None,
        arguments: list[Any] | None = None,
        inputs: list[Any] | None = None,
        outputs: list[Any] | None = None,
        allow_reuse: bool = True,
        compute_target: Any = "local",
        environment_variables: dict[str, str] | None = None,
        timeout_seconds: int | None = None,
    ):
        """Create a step.

        Args:
            name: the step name.
            script_name: path of the script inside `source_directory`.
            source_directory: folder holding the script; a relative path is resolved against the current
                working directory now.
            arguments: list of str, int, float, bool, `PipelineParameter`, `PipelineData`, `DataPath`, or
                `(PipelineParameter, DataPathComputeBinding)` tuples.
            inputs: list of `PipelineData`, `DataPath`, `PipelineParameter` with a `DataPath` default, or
                `(PipelineParameter, DataPathComputeBinding)` tuples.
            outputs: list of `PipelineData`.
            allow_reuse: reuse an earlier run's results when nothing changed.
            compute_target: a compute target name, or an object with a `.name`.
            environment_variables: extra environment variables for the script.
            timeout_seconds: time limit for the script, or None.

        Raises:
            DefinitionError: `name` or `script_name` is not a non-empty str, or `arguments`, `inputs`,
                `outputs` is not a list or `environment_variables` not a dict.
        """
        problems = []
        if not isinstance(name, str) or not name.strip():
            problems.append(f"step name {name!r} is invalid; give the step a non-empty str name")
        label = name if isinstance(name, str) else repr(name)
        if not isinstance(script_name, str) or not script_name.strip():
            problems.append(
                f"step {label!r}: script_name {script_name!r} is invalid; pass the script's file name"
            )
        for field, value in (("arguments", arguments), ("inputs", inputs), ("outputs", outputs)):
            if value is not None and not isinstance(value, (list, tuple)):
                problems.append(f"step {label!r}: {field} must be a list, not {type(value).__name__}")
        if environment_variables is not None and not isinstance(environment_variables, dict):
            problems.append(
                f"step {label!r}: environment_variables must be a dict, not {type(environment_variables).__name__}"
            )
        if problems:
            raise DefinitionError(problems)

        self.name = name
        self.script_name = script_name
        self.source_directory = (
            None if source_directory is None else os.path.abspath(os.fspath(source_directory))
        )
        self.arguments = list(arguments or [])
        self.inputs = list(inputs or [])
        self.outputs = list(outputs or [])
        self.allow_reuse = allow_reuse
        self.compute_target = getattr(compute_target, "name", compute_target)
        self.environment_variables = dict(environment_variables or {})
        self.timeout_seconds = timeout_seconds
        # Definition order; a pipeline keeps it among steps that are ready at the same time.
        self._order = next(_creation_order)
        for output in self.outputs:
            if isinstance(output, PipelineData) and self not in output._producers:
                output._producers.append(self)

    def __repr__(self) -> str:
        return f"PythonScriptStep(name={self.name!r}, script_name={self.script_name!r})"
