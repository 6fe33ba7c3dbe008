"""`Pipeline`: a set of steps linked by the data they exchange."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from headrace.core import graph as _graph
from headrace.core.module_step import name_module_steps
from headrace.core.params import datastore_name_of
from headrace.core.step import PythonScriptStep
from headrace.core.validation import collect_problems, compute_problems
from headrace.errors import CycleError, DefinitionError


class Pipeline:
    """A pipeline definition: steps, their data links and parameters.

    The definition is pure: building and validating it never contacts a server. `publish` and `submit`
    hand the pipeline to the workspace, which does the work.

    Attributes:
        workspace: the workspace the pipeline belongs to (opaque here).
        description: free text shown with runs and published pipelines.
        default_datastore: datastore for `PipelineData` that names none, as given.
        default_datastore_name: its name, or None for the service's default datastore.
        default_source_directory: absolute folder for steps built without a `source_directory`, or None
            (then the working directory at construction is used).
        resolve_closure: whether steps upstream of the given ones are pulled in through their data.

    Example:
        >>> from headrace.core import PipelineData, PythonScriptStep
        >>> prepared = PipelineData("prepared")
        >>> prep = PythonScriptStep(name="prep", script_name="prep.py", outputs=[prepared])
        >>> train = PythonScriptStep(name="train", script_name="train.py", inputs=[prepared])
        >>> [s.name for s in Pipeline(workspace=None, steps=[train]).steps]
        ['prep', 'train']
    """

    def __init__(
        self,
        workspace: Any,
        steps: Iterable[Any],
        description: str | None = None,
        default_datastore: Any = None,
        default_source_directory: str | os.PathLike[str] | None = None,
        resolve_closure: bool = True,
    ):
        """Create a pipeline.

        Args:
            workspace: the workspace that publishes and submits the pipeline.
            steps: the steps to run; with `resolve_closure`, their upstream steps need not be listed.
            description: free text.
            default_datastore: a datastore object or name for `PipelineData` that names none.
            default_source_directory: folder for steps without a `source_directory`; relative paths are
                resolved against the working directory now.
            resolve_closure: pull in the producers of the steps' `PipelineData` inputs.

        Raises:
            DefinitionError: `steps` is not iterable, or `default_datastore` has no name. Everything else
                is reported by `validate()`.
        """
        if isinstance(steps, (str, bytes)) or not isinstance(steps, Iterable):
            raise DefinitionError([f"Pipeline steps must be a list of steps, not {type(steps).__name__}"])
        given = list(steps)
        self.workspace = workspace
        self.description = description
        self.default_datastore = default_datastore
        self.default_datastore_name = datastore_name_of(default_datastore)
        self.default_source_directory = (
            None if default_source_directory is None else os.path.abspath(os.fspath(default_source_directory))
        )
        self.resolve_closure = resolve_closure
        self._fallback_source_directory = self.default_source_directory or os.getcwd()
        self._not_steps = [(i, s) for i, s in enumerate(given) if not isinstance(s, PythonScriptStep)]
        valid = [s for s in given if isinstance(s, PythonScriptStep)]
        self._resolved = _graph.resolve_closure(valid) if resolve_closure else list(dict.fromkeys(valid))
        name_module_steps(self._resolved)

    @property
    def steps(self) -> list[Any]:
        """The pipeline's steps (given and pulled in), in topological order.

        If the steps form a cycle, they are returned in definition order instead; `validate()` reports it.
        """
        try:
            return _graph.topological_sort(self._resolved, _graph.step_dependencies(self._resolved))
        except CycleError:
            return list(self._resolved)

    def validate(self) -> list[str]:
        """Check the whole definition and report every problem at once.

        Checks: cycles (through data and `run_after`), duplicate step names, unproduced or doubly
        produced `PipelineData`, parameters with conflicting defaults, data name clashes, missing source
        folders and scripts, the types of arguments, inputs and outputs, and (when the pipeline has a
        workspace) that every step's compute target exists in it.

        Returns:
            One message per problem, each naming the step, parameter or data and the fix; empty when the
            pipeline is valid.
        """
        return self._problems()[0]

    def graph(self) -> dict[str, Any]:
        """Return the serialised graph the engine runs (format in `headrace.core.graph`).

        Returns:
            A JSON-serialisable dict.

        Raises:
            CycleError: the steps form a cycle (`.problems` lists every problem, not only the cycle).
            DefinitionError: `validate()` found problems.
        """
        problems, has_cycle = self._problems()
        if problems:
            raise (CycleError if has_cycle else DefinitionError)(problems)
        return _graph.build_graph(
            self.steps,
            description=self.description,
            default_datastore_name=self.default_datastore_name,
            default_source_directory=self._fallback_source_directory,
        )

    def publish(self, **kwargs: Any) -> Any:
        """Publish the pipeline through its workspace (`name`, `description`, `version`, ...).

        Returns:
            Whatever the workspace returns: a `PublishedPipeline`.
        """
        return self.workspace._publish_pipeline(self, **kwargs)

    def submit(self, experiment_name: str, **kwargs: Any) -> Any:
        """Submit the pipeline as a run of `experiment_name` through its workspace.

        Args:
            experiment_name: the experiment to record the run under.
            **kwargs: `pipeline_parameters`, `continue_on_step_failure`, `regenerate_outputs`, ...

        Returns:
            Whatever the workspace returns: a `PipelineRun`.
        """
        return self.workspace._submit_pipeline(self, experiment_name, **kwargs)

    def _problems(self) -> tuple[list[str], bool]:
        head = [
            f"steps[{i}] is a {type(s).__name__}, not a step; pass PythonScriptStep objects"
            for i, s in self._not_steps
        ]
        if self._not_steps and not self._resolved:
            return head, False
        problems, has_cycle = collect_problems(
            self._resolved,
            resolve_closure=self.resolve_closure,
            fallback_source_directory=self._fallback_source_directory,
        )
        # Duck-typed so the definition layer never imports the SDK; a workspace-less pipeline skips it.
        known = getattr(self.workspace, "_compute_target_names", None)
        if callable(known):
            problems += compute_problems(self._resolved, known())
        return head + problems, has_cycle

    def __repr__(self) -> str:
        return f"Pipeline(steps={[s.name for s in self._resolved]!r})"
