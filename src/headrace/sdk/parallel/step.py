"""``ParallelRunStep``: run an entry script's ``run(mini_batch)`` over a dataset, spread over worker processes.

A ``ParallelRunStep`` is a ``PythonScriptStep`` whose script is headrace's driver (see ``build``): it runs on
any compute target that runs a step script. Its arguments carry the configuration, the inputs to cut into
mini-batches and, after ``--``, the user's own arguments (which the entry script reads with
``argparse.parse_known_args()``, as on Azure ML).
"""

from __future__ import annotations

import inspect
import json
import os
import warnings
from typing import Any

from headrace.core.bindings import InputPortBinding
from headrace.core.params import DataPath, PipelineData, PipelineParameter
from headrace.core.runconfig import IgnoredSettingWarning
from headrace.core.step import PythonScriptStep
from headrace.errors import DefinitionError
from headrace.sdk.parallel.build import DRIVER_SCRIPT, stage_source
from headrace.sdk.parallel.config import ParallelRunConfig

RESERVED_ARGUMENTS = ("mini_batch_size", "error_threshold", "allowed_failed_count", "allowed_failed_percent",
                      "output", "output_action", "logging_level", "process_count_per_node", "run_invocation_timeout",
                      "run_max_try", "append_row_file_name", "partition_keys")
"""Argument names the driver uses (Azure ML refuses them among the user's arguments too)."""


class ParallelRunStep(PythonScriptStep):
    """Process a file or tabular dataset in mini-batches with an entry script's ``init()`` and ``run()``.

    Each of ``node_count`` × ``process_count_per_node`` long-lived worker processes imports the entry script,
    calls ``init()`` once, then ``run(mini_batch)`` for one mini-batch after another: a list of file paths for
    a file input, a pandas DataFrame for a tabular one. With ``append_row``, what ``run()`` returns (a list,
    one line per element, or a DataFrame, one space-separated line per row) is appended to
    ``parallel_run_step.txt`` (or ``append_row_file_name``) in ``output``.

    Args:
        name: the step's name.
        parallel_run_config: a ``ParallelRunConfig``.
        inputs: what to cut into mini-batches, all file inputs or all tabular: datasets as named inputs
            (``ds.as_named_input("x")``, a ``DatasetConsumptionConfig``, possibly over a ``PipelineParameter``;
            tabular ones in direct mode), or folders of files (``DataPath``, ``PipelineData``,
            ``OutputFileDatasetConfig.as_input()``, a ``PipelineParameter`` with a ``DataPath`` default).
        output: the ``PipelineData`` or ``OutputFileDatasetConfig`` the step writes (required for append_row).
        side_inputs: data the entry script reads whole (not cut): same kinds as ``inputs``; refer to them in
            ``arguments`` to get their paths.
        arguments: the entry script's arguments, keyword style (``["--model", "m1"]``).
        allow_reuse: reuse an earlier run's results when nothing changed.

    Raises:
        DefinitionError: every problem found (bad inputs, missing output, reserved argument, missing script).

    Example:
        >>> step = ParallelRunStep(name="score", parallel_run_config=config,
        ...                        inputs=[images.as_named_input("images")], output=PipelineData("scores"))
    """

    def __init__(self, name: str, parallel_run_config: ParallelRunConfig, inputs: list[Any],
                 output: Any = None, side_inputs: list[Any] | None = None, arguments: list[Any] | None = None,
                 allow_reuse: bool = True):
        label = name if isinstance(name, str) else repr(name)
        config = parallel_run_config
        if not isinstance(config, ParallelRunConfig):
            raise DefinitionError([f"step {label!r}: parallel_run_config must be a ParallelRunConfig, not "
                                   f"{type(config).__name__}"])
        problems: list[str] = []
        arguments = list(arguments or [])
        problems += _argument_problems(label, arguments)
        kind, cut = _inputs(label, inputs, problems)
        side = [_side_input(label, s, problems) for s in side_inputs or []]
        arguments = [_replace(a, side_inputs or [], side) for a in arguments]
        if output is None and config.output_action == "append_row":
            problems.append(f"step {label!r}: output_action 'append_row' needs an output (a PipelineData or an "
                            "OutputFileDatasetConfig)")
        if output is not None and not isinstance(output, PipelineData):
            problems.append(f"step {label!r}: output must be a PipelineData or an OutputFileDatasetConfig, not "
                            f"{type(output).__name__}")
        if kind == "file" and config.partition_keys is not None:
            problems += _file_partition_problems(label, cut, list(config.partition_keys))
        source, entry = _source(label, config, problems)
        if problems:
            raise DefinitionError(problems)
        self.parallel_run_config = config
        self.input_kind = kind
        self.output = output
        self.side_inputs = side
        driver_args: list[Any] = ["--entry_script", entry, "--input_kind", kind]
        for flag, value in _settings(config):
            driver_args += [flag, value]
        if output is not None:
            driver_args += ["--output", output]
        for item in cut:
            driver_args += (["--input_dataset", item._headrace_dataset_input()[0]]
                            if _is_dataset_input(item) else ["--input_path", item])
        driver_args += ["--", *arguments]
        step_env = {k: str(v) for k, v in config.environment_variables.items()}
        extra = _environment(label, config.environment)
        super().__init__(name=name, script_name=DRIVER_SCRIPT, source_directory=stage_source(label, source),
                         arguments=driver_args, inputs=[*cut, *side], outputs=[output] if output is not None else [],
                         allow_reuse=allow_reuse, compute_target=config.compute_target_name,
                         environment_variables=step_env, resources=config.resources, **extra)

    def __repr__(self) -> str:
        return (f"ParallelRunStep(name={self.name!r}, entry_script={self.parallel_run_config.entry_script!r}, "
                f"input_kind={self.input_kind!r})")


def _settings(config: ParallelRunConfig) -> list[tuple[str, Any]]:
    """(flag, value) pairs of the driver's settings; PipelineParameters stay objects (read at run time)."""
    found: list[tuple[str, Any]] = [
        ("--output_action", config.output_action), ("--error_threshold", config.error_threshold),
        ("--node_count", config.node_count), ("--run_invocation_timeout", config.run_invocation_timeout),
        ("--run_max_try", config.run_max_try), ("--logging_level", config.logging_level)]
    optional = {"--mini_batch_size": config.mini_batch_size, "--process_count_per_node": config.process_count_per_node,
                "--allowed_failed_count": config.allowed_failed_count,
                "--allowed_failed_percent": config.allowed_failed_percent,
                "--append_row_file_name": config.append_row_file_name}
    found += [(flag, value) for flag, value in optional.items() if value is not None]
    if config.partition_keys is not None:
        found.append(("--partition_keys", json.dumps(config.partition_keys)))
    return found


def _argument_problems(label: str, arguments: list[Any]) -> list[str]:
    if not arguments:
        return []
    problems = []
    if not (isinstance(arguments[0], str) and arguments[0].startswith("-")):
        problems.append(f"step {label!r}: arguments must be keyword style (['--name', value, ...]); the first is "
                        f"{arguments[0]!r}")
    for item in arguments:
        if isinstance(item, str) and item.startswith("--") and item[2:].split("=", 1)[0] in RESERVED_ARGUMENTS:
            problems.append(f"step {label!r}: argument {item!r} is reserved by ParallelRunStep; use another name")
    return problems


def _is_dataset_input(value: Any) -> bool:
    return callable(getattr(value, "_headrace_dataset_input", None))


def _dataset_kind(value: Any) -> str | None:
    """"file" or "tabular" for a dataset consumption (its dataset, or its parameter's default)."""
    dataset = value._headrace_dataset_input()[3]
    if isinstance(dataset, PipelineParameter):
        dataset = dataset.default_value
    return getattr(dataset, "_kind", None)


def _file_partition_problems(label: str, inputs: list[Any], keys: list[str]) -> list[str]:
    """File inputs cut by partition_keys must be datasets whose partition_format has those keys."""
    problems = []
    for value in inputs:
        dataset = value._headrace_dataset_input()[3] if _is_dataset_input(value) else None
        if isinstance(dataset, PipelineParameter):
            dataset = dataset.default_value
        has = list(getattr(dataset, "partition_keys", None) or [])
        if not set(keys) <= set(has):
            what = f"input {value.name!r}" if dataset is not None else f"input {value!r}"
            problems.append(f"step {label!r}: partition_keys {keys} cut file inputs by the values their paths carry: "
                            f"{what} needs a partition_format with those keys (Dataset.File.from_files(..., "
                            f"partition_format='.../{{key}}/...')); its keys: {has or 'none'}")
    return problems


def _is_path_input(value: Any) -> bool:
    if isinstance(value, tuple) and len(value) == 2:
        value = value[0]
    if isinstance(value, PipelineParameter):
        return isinstance(value.default_value, DataPath)
    return isinstance(value, DataPath | PipelineData | InputPortBinding)


def _inputs(label: str, inputs: Any, problems: list[str]) -> tuple[str, list[Any]]:
    """The inputs' common kind ("file" or "tabular") and the inputs as the step takes them."""
    if not isinstance(inputs, list | tuple) or not inputs:
        problems.append(f"step {label!r}: inputs must be a non-empty list of datasets as named inputs or data paths")
        return "file", []
    kinds, cut = [], []
    for value in inputs:
        if _is_dataset_input(value):
            kind = _dataset_kind(value)
            if kind == "tabular" and value.mode != "direct":
                problems.append(f"step {label!r}: tabular input {value.name!r} must be consumed in direct mode "
                                "(use as_named_input(name) without as_mount/as_download)")
            if kind == "file" and value.mode == "direct":
                value = value.as_mount()  # as on Azure ML: the workers get local file paths
            kinds.append(kind)
            cut.append(value)
        elif _is_path_input(value):
            kinds.append("file")
            cut.append(value)
        else:
            problems.append(f"step {label!r}: input {value!r} is not a dataset as a named input, a DataPath or a "
                            "PipelineData")
    if len(set(kinds)) > 1:
        problems.append(f"step {label!r}: all inputs must be of one kind, file or tabular (got {', '.join(kinds)})")
    return (kinds[0] if kinds else "file") or "file", cut


def _side_input(label: str, value: Any, problems: list[str]) -> Any:
    if _is_dataset_input(value):
        return value.as_mount() if _dataset_kind(value) == "file" and value.mode == "direct" else value
    if not _is_path_input(value):
        problems.append(f"step {label!r}: side input {value!r} is not a dataset as a named input, a DataPath or a "
                        "PipelineData")
    return value


def _replace(arg: Any, before: list[Any], after: list[Any]) -> Any:
    """An argument naming a side input that was turned into a mount: the mount (Azure ML does the same)."""
    for old, new in zip(before, after, strict=False):
        if arg is old:
            return new
    return arg


def _source(label: str, config: ParallelRunConfig, problems: list[str]) -> tuple[str, str]:
    entry = config.entry_script or ""
    if config.source_directory:
        source = os.path.abspath(config.source_directory)
        if not os.path.isdir(source):
            problems.append(f"step {label!r}: source_directory {config.source_directory!r} is not a folder")
        elif not os.path.isfile(os.path.join(source, entry)):
            problems.append(f"step {label!r}: entry_script {entry!r} is not a file in {source}")
        return source, entry
    path = os.path.abspath(entry)
    if not os.path.isfile(path):
        problems.append(f"step {label!r}: entry_script {entry!r} is not a file (give source_directory, or a path)")
    return os.path.dirname(path), os.path.basename(path)


def _environment(label: str, environment: Any) -> dict[str, Any]:
    """How the step gets ``environment``: passed on when ``PythonScriptStep`` takes one, else the agent's Python
    (with a warning when the environment asks for packages)."""
    if environment is None:
        return {}
    if "environment" in inspect.signature(PythonScriptStep.__init__).parameters:
        return {"environment": environment}
    python = getattr(environment, "python", None)
    deps = getattr(python, "conda_dependencies", None)
    wanted = [*getattr(deps, "pip_packages", []), *getattr(deps, "conda_packages", [])]
    if wanted and not getattr(python, "user_managed_dependencies", False):
        warnings.warn(f"step {label!r}: its environment asks for {', '.join(wanted)}; this version runs the "
                      "workers with the agent's Python and packages", IgnoredSettingWarning, stacklevel=3)
    return {}
