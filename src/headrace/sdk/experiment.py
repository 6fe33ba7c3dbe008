"""``Experiment``: a named group of runs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from headrace.errors import AccessDeniedError, ConfigError


class Experiment:
    """A named group of runs in a workspace; ``Experiment(ws, name)`` creates it (so ``ws.experiments[name]``
    lists it before its first run).

    Example:
        >>> run = Experiment(ws, "MyExperiment").submit(pipeline, pipeline_parameters={"n": 20})
        >>> run.wait_for_completion(show_output=True)
        >>> script_run = Experiment(ws, "train").submit(ScriptRunConfig("src", "train.py"))
        >>> with Experiment(ws, "notebook").start_logging() as run:
        ...     run.log("alpha", 0.5)
    """

    def __init__(self, workspace: Any, name: str, _skip_name_validation: bool = False, _id: Any = None,
                 _archived_time: Any = None, _create_in_cloud: bool = True, _experiment_dto: Any = None,
                 _create: bool = True, **kwargs: Any):
        self.workspace = workspace
        self.name = name
        if _create and _create_in_cloud:
            try:
                workspace._backend.create_experiment(name)
            except AccessDeniedError:
                pass  # a reader's token: it may still read the experiment's runs; submitting says what is missing

    def start_logging(self, *args: Any, outputs: str | None = None, snapshot_directory: str | None = None,
                      display_name: str | None = None, **kwargs: Any) -> Any:
        """Start an interactive run in this process: log to it, then ``complete()`` it (or use it in ``with``).

        Args:
            outputs: the folder uploaded as the run's ``outputs/`` when it ends (default ``./outputs``).
            snapshot_directory: a folder to snapshot with the run (its hash is the ``ContentSnapshotId``
                property); None takes none.
            display_name: the run's description.

        Raises:
            DefinitionError: ``snapshot_directory`` cannot be snapshotted.
        """
        from headrace.sdk.runs.run import Run

        backend = self.workspace._backend
        properties = {"azureml.runsource": "experiment"}
        if snapshot_directory is not None:
            properties["ContentSnapshotId"] = backend.store_snapshot(str(snapshot_directory))
        record = backend.start_run(self.name, properties=properties, description=display_name)
        return Run(self, record.id, _record=record, outputs=outputs)

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
        """Queue a run of ``config`` and return it at once (status Queued).

        ``config`` is a ``Pipeline``, a ``PublishedPipeline`` or a ``PipelineEndpoint`` (its default
        version, or ``pipeline_version``): a ``PipelineRun``; or a ``ScriptRunConfig``: a ``ScriptRun``,
        as in Azure ML. ``continue_on_step_failure`` left None means False for a pipeline and the
        published setting for the others.

        Raises:
            DefinitionError: the pipeline is invalid (every problem listed).
            ParameterError: an unknown parameter (valid ones listed) or a value of the wrong type.
            ConfigError: an argument that does not apply to ``config``.
        """
        from headrace.core.script_run import ScriptRunConfig
        from headrace.core.sweeps import HyperDriveConfig
        from headrace.sdk.published import PipelineEndpoint, PublishedPipeline
        from headrace.sdk.runs import PipelineRun

        if isinstance(config, HyperDriveConfig):
            from headrace.sdk.runs.sweep import submit_sweep

            return submit_sweep(self, config, tags=tags, description=description)
        if isinstance(config, ScriptRunConfig):
            if pipeline_parameters or pipeline_version or regenerate_outputs or kwargs:
                extra = [k for k, v in (("pipeline_parameters", pipeline_parameters), ("pipeline_version",
                         pipeline_version), ("regenerate_outputs", regenerate_outputs)) if v] + sorted(kwargs)
                raise ConfigError(f"{', '.join(extra)}: not arguments of a script run's submit")
            from headrace.sdk.runs.script import submit_script

            return submit_script(self, config, tags=tags, description=description)
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
            type: a run type: ``azureml.PipelineRun`` (also ``PipelineRun``), ``azureml.scriptrun``,
                ``experimentrun`` (interactive) or ``hyperdrive``.
            tags: a tag name the runs must have, or ``{name: value}`` pairs they must all have.
            properties: the same, for run properties.
            include_children: also child runs (a sweep's trials, ``child_run()``s); step runs are reached
                with ``run.get_steps()``.
        """
        from headrace.sdk.runs.run import run_for

        wanted = "azureml.PipelineRun" if type == "PipelineRun" else type
        exact = tags if isinstance(tags, dict) else None
        for record in self.workspace._backend.iter_runs(self.name, tags=exact):
            if record.parent_run_id is not None and not include_children:
                continue
            if isinstance(tags, str) and tags not in record.tags:
                continue
            if not _has(record.properties, properties):
                continue
            run = run_for(self, record)
            if wanted is None or run.type == wanted:
                yield run

    @staticmethod
    def list(workspace: Any) -> list[Experiment]:
        """All experiments of the workspace, by name."""
        return [Experiment(workspace, e.name, _create=False) for e in workspace._backend.list_experiments()]

    def __repr__(self) -> str:
        return f"Experiment(name={self.name!r})"


def _has(values: dict[str, Any], wanted: str | dict[str, str] | None) -> bool:
    if wanted is None:
        return True
    if isinstance(wanted, str):
        return wanted in values
    return all(k in values and str(values[k]) == str(v) for k, v in wanted.items())
