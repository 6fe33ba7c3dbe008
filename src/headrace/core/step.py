"""Pipeline steps.

A step is a description of one script run: what to run, with which arguments, reading which data and
writing which data. The constructor only checks what it must to build the object; `Pipeline.validate()`
reports every other problem at once.
"""

from __future__ import annotations

import itertools
import os
import warnings
from typing import Any

from headrace.core.bindings import unwrap
from headrace.core.environment import not_honoured
from headrace.core.params import PipelineData
from headrace.core.resources import merged
from headrace.core.runconfig import IgnoredSettingWarning, RunConfiguration, has_environment, ignored_settings
from headrace.errors import DefinitionError

_creation_order = itertools.count()


class PythonScriptStep:
    """Run a Python script as a pipeline step.

    Attributes:
        name: the step name, unique within a pipeline (default: the script name).
        script_name: the script, relative to `source_directory`.
        source_directory: absolute path of the folder holding the script, or None to use the pipeline's
            `default_source_directory` (or the working directory when the pipeline has none).
        arguments: command-line arguments; data handles and parameters are replaced by their values.
        inputs: data the step reads.
        outputs: `PipelineData` the step writes.
        allow_reuse: whether an unchanged step may reuse the results of an earlier run.
        compute_target: name of the compute target that runs the step.
        runconfig: the `RunConfiguration` given, or None.
        environment: the step's `Environment` (given, or the runconfig's own), or None for the agent's.
        resources: the Dask resources the step asks for (its runconfig's, then its own), ``{}`` for none.
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
        script_name: str | None = None,
        name: str | None = None,
        arguments: list[Any] | None = None,
        compute_target: Any = None,
        runconfig: RunConfiguration | None = None,
        runconfig_pipeline_params: dict[str, Any] | None = None,
        inputs: list[Any] | None = None,
        outputs: list[Any] | None = None,
        params: dict[str, Any] | None = None,
        source_directory: str | os.PathLike[str] | None = None,
        allow_reuse: bool = True,
        version: str | None = None,
        hash_paths: list[str] | None = None,
        *,
        environment_variables: dict[str, str] | None = None,
        timeout_seconds: int | None = None,
        environment: Any = None,
        resources: dict[str, float] | None = None,
    ):
        """Create a step (Azure ML's argument order; the last two are headrace's, keyword only).

        Args:
            script_name: path of the script inside `source_directory`.
            name: the step name; defaults to `script_name`, as in Azure ML.
            arguments: list of str, int, float, bool, `PipelineParameter`, `PipelineData`, `DataPath`,
                `DataReference`, or `(PipelineParameter, DataPathComputeBinding)` tuples.
            compute_target: a compute target name, an object with a `.name`, or a `(name, type)` tuple;
                None takes `runconfig.target`, else "local". Checked by `validate()` and at submit.
            runconfig: a `RunConfiguration`; its target and environment are used, the rest is recorded
                in the pipeline graph, and a warning names what is not applied.
            runconfig_pipeline_params: accepted for Azure ML code; recorded, not applied.
            inputs: list of `PipelineData`, `DataPath`, `DataReference`, `PipelineParameter` with a
                `DataPath` default, or `(PipelineParameter, DataPathComputeBinding)` tuples.
            outputs: list of `PipelineData`.
            params: name -> str/int/float/bool, given to the script as `AML_PARAMETER_<name>` variables.
            source_directory: folder holding the script; a relative path is resolved against the current
                working directory now.
            allow_reuse: reuse an earlier run's results when nothing changed.
            version: a free-form version tag, recorded in the graph (a new tag makes a new pipeline).
            hash_paths: deprecated in Azure ML (the whole `source_directory` is hashed); accepted, no effect.
            environment_variables: extra environment variables for the script.
            timeout_seconds: time limit for the script, or None.
            environment: an `Environment` to run the script in (built with uv from its pip packages);
                it wins over the runconfig's.
            resources: Dask resources the step asks of its worker (``{"GPU": 1, "MEMORY": 4e9}``); they win
                per key over the runconfig's ``resources`` and the compute target's. Checked by `validate()`.

        Raises:
            DefinitionError: `script_name` is not a non-empty str, `name` is not one, `arguments`,
                `inputs`, `outputs` is not a list, or `environment_variables` / `params` not a dict of
                plain values.
        """
        if name is None and isinstance(script_name, str):
            name = script_name
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
        if params is not None and (not isinstance(params, dict) or not all(
                isinstance(v, (str, int, float, bool)) for v in params.values())):
            problems.append(f"step {label!r}: params must map names to str, int, float or bool values; "
                            "pass PipelineParameters in arguments=")
        if runconfig is not None and not isinstance(runconfig, RunConfiguration):
            problems.append(f"step {label!r}: runconfig must be a RunConfiguration, not {type(runconfig).__name__}")
        if environment is not None and not callable(getattr(environment, "_headrace_environment", None)):
            problems.append(f"step {label!r}: environment must be an Environment, not {type(environment).__name__}")
        if problems:
            raise DefinitionError(problems)

        self.name = name
        self.script_name = script_name
        self.source_directory = (
            None if source_directory is None else os.path.abspath(os.fspath(source_directory))
        )
        self.arguments = [unwrap(a) for a in arguments or []]
        self.inputs = [unwrap(i) for i in inputs or []]
        self.outputs = list(outputs or [])
        _collect_argument_data(list(arguments or []), self.inputs, self.outputs)
        self.allow_reuse = allow_reuse
        if compute_target is None:
            compute_target = runconfig.target if runconfig is not None else "local"
        if isinstance(compute_target, tuple) and compute_target:
            compute_target = compute_target[0]  # Azure ML's ("name", "type") form
        self.compute_target = getattr(compute_target, "name", compute_target)
        self.runconfig = runconfig
        self.runconfig_pipeline_params = dict(runconfig_pipeline_params or {})
        self.version = version
        self.hash_paths = hash_paths  # no effect: the whole source_directory is always hashed
        if environment is None and runconfig is not None and has_environment(runconfig):
            environment = runconfig.environment
        self.environment = environment
        self.environment_variables = {
            **(runconfig.environment.environment_variables if runconfig is not None else {}),
            **(environment.environment_variables if environment is not None else {}),
            **{f"AML_PARAMETER_{k}": str(v) for k, v in (params or {}).items()},
            **(environment_variables or {}),
        }
        self.timeout_seconds = timeout_seconds
        self.resources: Any = merged(getattr(runconfig, "resources", None), resources)
        if resources is not None and not isinstance(resources, dict):
            self.resources = resources  # validate() names it
        # Steps this one must wait for besides its data producers (`run_after`).
        self._run_after: list[Any] = []
        # Definition order; a pipeline keeps it among steps that are ready at the same time.
        self._order = next(_creation_order)
        for output in self.outputs:
            if isinstance(output, PipelineData) and self not in output._producers:
                output._producers.append(self)
        ignored = ignored_settings(runconfig) if runconfig is not None else []
        if environment is not None:
            ignored += [i for i in not_honoured(environment.spec()) if i not in ignored]
        if ignored:
            warnings.warn(
                f"step {name!r}: its runconfig or environment asks for {'; '.join(ignored)}. headrace records "
                "these in the pipeline graph but does not apply them: no conda channel or image registry is used "
                "(the step runs in a uv-built virtual environment with the pip packages, or the agent's Python)",
                IgnoredSettingWarning, stacklevel=2)

    def run_after(self, step: Any) -> None:
        """Run this step only after `step` has finished, even when no data links them.

        The edge counts like a data link: a pipeline given this step pulls `step` in, `validate()`
        reports cycles through it, and the DAG drawings show it.
        """
        if step not in self._run_after:
            self._run_after.append(step)

    def __repr__(self) -> str:
        return f"PythonScriptStep(name={self.name!r}, script_name={self.script_name!r})"


def _collect_argument_data(arguments: list[Any], inputs: list[Any], outputs: list[Any]) -> None:
    """Azure ML counts dataset inputs and ``OutputFileDatasetConfig`` outputs given in ``arguments`` only
    (``output.as_input()`` as an input of the reading step): add them to ``inputs`` / ``outputs`` (in place)."""
    from headrace.core.bindings import InputPortBinding
    from headrace.core.output_dataset import OutputFileDatasetConfig

    def has(items: list[Any], value: Any) -> bool:
        return any(i is value for i in items)

    for arg in arguments:
        if isinstance(arg, InputPortBinding) and isinstance(arg.pipeline_data, OutputFileDatasetConfig):
            if not has(inputs, arg.pipeline_data):
                inputs.append(arg.pipeline_data)
        elif isinstance(arg, OutputFileDatasetConfig):
            if not has(outputs, arg) and not has(inputs, arg):
                outputs.append(arg)
        elif callable(getattr(arg, "_headrace_dataset_input", None)):
            name = arg._headrace_dataset_input()[0]
            if not any(callable(getattr(i, "_headrace_dataset_input", None)) and i._headrace_dataset_input()[0] == name
                       for i in inputs):
                inputs.append(arg)
