"""``Experiment``: a named group of runs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from headrace.errors import ConfigError


class Experiment:
    """A named group of runs in a workspace (created on first submit).

    Example:
        >>> run = Experiment(ws, "MyExperiment").submit(pipeline, pipeline_parameters={"n": 20})
        >>> run.wait_for_completion(show_output=True)
    """

    def __init__(self, workspace: Any, name: str):
        self.workspace = workspace
        self.name = name

    def submit(
        self,
        config: Any,
        pipeline_parameters: Mapping[str, Any] | None = None,
        continue_on_step_failure: bool | None = None,
        regenerate_outputs: bool = False,
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
        pipeline_version: str | None = None,
        **kwargs: Any,
    ):
        """Queue a run of ``config`` and return its ``PipelineRun`` at once (status Queued).

        ``config`` is a ``Pipeline``, a ``PublishedPipeline`` or a ``PipelineEndpoint`` (its default
        version, or ``pipeline_version``), as in Azure ML. ``continue_on_step_failure`` left None
        means False for a pipeline and the published setting for the others.

        Raises:
            DefinitionError: the pipeline is invalid (every problem listed).
            ParameterError: an unknown parameter (valid ones listed) or a value of the wrong type.
            ConfigError: an argument that does not apply to ``config``.
        """
        from headrace.sdk.published import PipelineEndpoint, PublishedPipeline
        from headrace.sdk.runs import PipelineRun

        if kwargs:
            raise ConfigError(f"unexpected argument(s) to submit: {', '.join(sorted(kwargs))}")
        if pipeline_version is not None and not isinstance(config, PipelineEndpoint):
            raise ConfigError("pipeline_version applies to a PipelineEndpoint only")
        if regenerate_outputs and isinstance(config, PublishedPipeline | PipelineEndpoint):
            raise ConfigError("regenerate_outputs applies to a Pipeline only; a published pipeline's runs "
                              "follow its steps' allow_reuse")
        if isinstance(config, PublishedPipeline):
            return config.submit(self.workspace, self.name, pipeline_parameters=pipeline_parameters,
                                 continue_on_step_failure=continue_on_step_failure, tags=tags,
                                 description=description)
        if isinstance(config, PipelineEndpoint):
            return config.submit(self.name, pipeline_parameters=pipeline_parameters,
                                 pipeline_version=pipeline_version, tags=tags, description=description,
                                 continue_on_step_failure=continue_on_step_failure)
        if not hasattr(config, "graph"):
            raise ConfigError(f"cannot submit {type(config).__name__}: pass a Pipeline, a PublishedPipeline "
                              "or a PipelineEndpoint")
        record = self.workspace._backend.submit_pipeline(
            config, self.name, pipeline_parameters=pipeline_parameters,
            continue_on_step_failure=bool(continue_on_step_failure), regenerate_outputs=regenerate_outputs,
            tags=tags, description=description,
        )
        return PipelineRun(self, record.id, _record=record)

    def get_runs(self, type: str | None = None, tags: str | dict[str, str] | None = None,  # noqa: A002
                 properties: str | dict[str, str] | None = None, include_children: bool = False) -> Iterator[Any]:
        """This experiment's runs, newest first: all of them, fetched page by page as you iterate.

        Args:
            type: a run type; every headrace run is an ``azureml.PipelineRun`` (also accepted: ``PipelineRun``),
                so any other type yields nothing.
            tags: a tag name the runs must have, or ``{name: value}`` pairs they must all have.
            properties: the same, for run properties.
            include_children: accepted for compatibility; step runs are reached with ``run.get_steps()``.
        """
        from headrace.sdk.runs import PipelineRun

        if type is not None and type not in ("azureml.PipelineRun", "PipelineRun"):
            return
        exact = tags if isinstance(tags, dict) else None
        for record in self.workspace._backend.iter_runs(self.name, tags=exact):
            if isinstance(tags, str) and tags not in record.tags:
                continue
            if not _has(record.properties, properties):
                continue
            yield PipelineRun(self, record.id, _record=record)

    @staticmethod
    def list(workspace: Any) -> list[Experiment]:
        """All experiments of the workspace, by name."""
        return [Experiment(workspace, e.name) for e in workspace._backend.list_experiments()]

    def __repr__(self) -> str:
        return f"Experiment(name={self.name!r})"


def _has(values: dict[str, Any], wanted: str | dict[str, str] | None) -> bool:
    if wanted is None:
        return True
    if isinstance(wanted, str):
        return wanted in values
    return all(k in values and str(values[k]) == str(v) for k, v in wanted.items())
