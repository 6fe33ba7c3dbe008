"""``ParallelRunConfig``: how a ParallelRunStep cuts its input into mini-batches and runs them (Azure ML's class).

Every setting may also be a ``PipelineParameter`` where Azure ML allows one (``mini_batch_size``,
``process_count_per_node``, ``node_count``, ``run_invocation_timeout``, ``run_max_try``, ``logging_level``):
its value is read when the step runs.
"""

from __future__ import annotations

import re
from typing import Any

from headrace.core.parallel_run import parse_size
from headrace.core.params import PipelineParameter
from headrace.core.resources import resource_problems
from headrace.errors import DefinitionError

OUTPUT_ACTIONS = ("append_row", "summary_only")
LOGGING_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_BAD_FILE_NAME = re.compile(r'[~"#%&*:<>?/\\{|}]')


class ParallelRunConfig:
    """Settings of a ``ParallelRunStep``: entry script, mini-batch size, workers, retries and thresholds.

    Args:
        environment: the ``Environment`` the workers run in; None or one without dependencies runs them with
            the agent's own Python.
        entry_script: the script with ``init()`` and ``run(mini_batch)``, relative to ``source_directory``.
        error_threshold: how many failed items (files of a file input, rows of a tabular one) are tolerated;
            one more aborts the step. -1 tolerates any number.
        output_action: ``"append_row"`` (what each ``run()`` returns is appended to one file in the output) or
            ``"summary_only"`` (the script writes its own output; the returned rows only count successes).
        compute_target: the compute target (object or name) that runs the step; ``"local"`` is the agent.
        node_count: nodes to spread the workers over (on the local target: groups of processes).
        process_count_per_node: worker processes per node (default: the machine's CPU count).
        mini_batch_size: files per ``run()`` call for a file input (default 10); approximate bytes of data per
            call for a tabular input (``1024``, ``"10KB"``, ``"5MB"``, ``"1GB"``; default ``"1MB"``).
        source_directory: the folder holding the entry script and what it imports.
        description: free text, recorded.
        logging_level: ``"INFO"`` logs every mini-batch, ``"WARNING"`` only failures and progress.
        run_invocation_timeout: seconds one ``run()`` call may take; a stuck call's worker is killed and
            replaced, and the mini-batch counts as a failed try.
        run_max_try: tries per mini-batch (a failure or a timeout uses one).
        append_row_file_name: the ``append_row`` file's name (default ``parallel_run_step.txt``).
        allowed_failed_count: failed mini-batches tolerated (-1: any).
        allowed_failed_percent: percent of failed mini-batches tolerated, checked at the end (100: any).
        partition_keys: columns of a tabular input: each distinct combination is one mini-batch (instead
            of ``mini_batch_size``).
        environment_variables: variables set in the worker processes.
        resources: Dask resources (``{"GPU": 1}``, beyond Azure ML) the step asks for on a Dask target, and each
            further node too: every node task holds them on its worker (``node_count`` workers with ``GPU=1``
            run ``node_count`` nodes). They win per key over the target's. Recorded only on the local target.

    Raises:
        DefinitionError: a setting out of range, naming it (Azure ML raises ValueError there).

    Example:
        >>> config = ParallelRunConfig(environment=None, entry_script="score.py", source_directory="scripts",
        ...                            mini_batch_size="5", error_threshold=10, output_action="append_row",
        ...                            compute_target="local", node_count=1, process_count_per_node=2)
    """

    def __init__(self, environment: Any, entry_script: str, error_threshold: int, output_action: str,
                 compute_target: Any, node_count: int | PipelineParameter,
                 process_count_per_node: int | PipelineParameter | None = None,
                 mini_batch_size: int | str | PipelineParameter | None = None, source_directory: str | None = None,
                 description: str | None = None, logging_level: str | PipelineParameter = "INFO",
                 run_invocation_timeout: int | PipelineParameter = 60, run_max_try: int | PipelineParameter = 3,
                 append_row_file_name: str | None = None, allowed_failed_count: int | None = None,
                 allowed_failed_percent: float | None = None, partition_keys: list[str] | None = None,
                 environment_variables: dict[str, str] | None = None, resources: dict[str, float] | None = None):
        self.environment = environment
        self.entry_script = entry_script.strip() if isinstance(entry_script, str) else entry_script
        self.error_threshold = error_threshold
        self.output_action = output_action
        self.compute_target = compute_target
        self.node_count = node_count
        self.process_count_per_node = process_count_per_node
        self.mini_batch_size = mini_batch_size
        self.source_directory = source_directory.strip() if isinstance(source_directory, str) else source_directory
        self.description = description
        self.logging_level = "INFO" if logging_level is None else logging_level
        self.run_invocation_timeout = 60 if run_invocation_timeout is None else run_invocation_timeout
        self.run_max_try = 3 if run_max_try is None else run_max_try
        self.append_row_file_name = append_row_file_name
        self.allowed_failed_count = allowed_failed_count
        self.allowed_failed_percent = allowed_failed_percent
        self.partition_keys = partition_keys
        self.environment_variables = dict(environment_variables or {})
        self.resources = dict(resources) if isinstance(resources, dict) else resources
        problems = self._problems() + resource_problems("ParallelRunConfig", resources)
        if problems:
            raise DefinitionError(problems)
        if isinstance(self.mini_batch_size, str):  # Azure ML keeps the number: "5" -> 5, "1MB" -> 1048576
            self.mini_batch_size = parse_size(self.mini_batch_size)

    @property
    def compute_target_name(self) -> str:
        """The compute target's name (``"local"`` when none was given)."""
        target = self.compute_target
        if isinstance(target, tuple) and target:
            target = target[0]
        return str(getattr(target, "name", target) or "local")

    def _problems(self) -> list[str]:
        problems = []
        if not isinstance(self.entry_script, str) or not self.entry_script:
            problems.append(f"ParallelRunConfig: entry_script {self.entry_script!r} must name the script with "
                            "init() and run(mini_batch)")
        if not isinstance(self.output_action, str) or self.output_action.lower() not in OUTPUT_ACTIONS:
            problems.append(f"ParallelRunConfig: output_action {self.output_action!r} must be 'append_row' or "
                            "'summary_only'")
        else:
            self.output_action = self.output_action.lower()
        for name, low in (("error_threshold", -1), ("allowed_failed_count", -1)):
            value = getattr(self, name)
            if (value is not None or name == "error_threshold") and not _int_at_least(value, low):
                problems.append(f"ParallelRunConfig: {name} {value!r} must be a whole number of at least {low} "
                                "(-1 tolerates any number of failures)")
        percent = self.allowed_failed_percent
        if percent is not None and (isinstance(percent, bool) or not isinstance(percent, int | float)
                                    or not 0 <= percent <= 100):
            problems.append(f"ParallelRunConfig: allowed_failed_percent {percent!r} must be a number from 0 to 100")
        for name in ("node_count", "run_invocation_timeout", "run_max_try"):
            value = getattr(self, name)
            if not isinstance(value, PipelineParameter) and not _int_at_least(value, 1):
                problems.append(f"ParallelRunConfig: {name} {value!r} must be a whole number of at least 1")
        count = self.process_count_per_node
        if count is not None and not isinstance(count, PipelineParameter) and not _int_at_least(count, 1):
            problems.append(f"ParallelRunConfig: process_count_per_node {count!r} must be a whole number of at "
                            "least 1 (default: the CPU count)")
        problems += self._batch_problems()
        level = self.logging_level
        if not isinstance(level, PipelineParameter) and str(level).upper() not in LOGGING_LEVELS:
            problems.append(f"ParallelRunConfig: logging_level {level!r} must be one of {', '.join(LOGGING_LEVELS)}")
        name = self.append_row_file_name
        if name is not None and (not isinstance(name, str) or not name.strip() or _BAD_FILE_NAME.search(name)):
            problems.append(f"ParallelRunConfig: append_row_file_name {name!r} must be a plain file name")
        if not isinstance(self.environment_variables, dict):
            problems.append("ParallelRunConfig: environment_variables must be a dict")
        return problems

    def _batch_problems(self) -> list[str]:
        size, keys = self.mini_batch_size, self.partition_keys
        if size is not None and keys is not None:
            return ["ParallelRunConfig: give mini_batch_size or partition_keys, not both (they are two ways to "
                    "cut the input into mini-batches)"]
        if keys is not None and not (isinstance(keys, list) and keys and all(isinstance(k, str) for k in keys)):
            return [f"ParallelRunConfig: partition_keys {keys!r} must be a non-empty list of column names"]
        if size is None or isinstance(size, PipelineParameter):
            return []
        if isinstance(size, bool) or not isinstance(size, int | str):
            return [f"ParallelRunConfig: mini_batch_size {size!r} must be an int or a str such as '10' or '5MB'"]
        try:
            parse_size(size)
        except ValueError as exc:
            return [f"ParallelRunConfig: {exc}"]
        return []

    def __repr__(self) -> str:
        return (f"ParallelRunConfig(entry_script={self.entry_script!r}, mini_batch_size={self.mini_batch_size!r}, "
                f"output_action={self.output_action!r}, node_count={self.node_count!r}, "
                f"process_count_per_node={self.process_count_per_node!r})")


def _int_at_least(value: Any, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low
