"""``PipelineDraft``: a stored, unpublished pipeline that is edited, run and published (Azure ML v1's API)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from headrace.core.params import DataPath
from headrace.errors import ConfigError
from headrace.storage.draft_records import PipelineDraftRecord


def _values(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {k: v.to_json() if isinstance(v, DataPath) else v for k, v in values.items()}


class PipelineDraft:
    """A pipeline kept in the workspace without being published: its graph, name, experiment and the
    parameter values and settings its runs get.

    Example:
        >>> draft = PipelineDraft.create(ws, name="TestPipelineDraft", experiment_name="drafts",
        ...                              pipeline=pipeline, tags={"dev": "true"})
        >>> draft.update(pipeline=new_pipeline); run = draft.submit_run(); published = draft.publish()
    """

    def __init__(self, workspace: Any, record: PipelineDraftRecord):
        self.workspace = workspace
        self._record = record

    id = property(lambda self: self._record.id)
    name = property(lambda self: self._record.name)
    description = property(lambda self: self._record.description)
    experiment_name = property(lambda self: self._record.experiment_name)
    tags = property(lambda self: dict(self._record.tags))
    properties = property(lambda self: dict(self._record.properties))
    pipeline_parameters = property(lambda self: dict(self._record.parameters))
    continue_on_step_failure = property(lambda self: self._record.continue_on_step_failure)
    graph_id = property(lambda self: self._record.pipeline_id)
    parent_pipeline_id = property(lambda self: self._record.parent_pipeline_id)
    parent_pipeline_run_id = property(lambda self: self._record.parent_run_id)
    parent_pipeline_draft_id = property(lambda self: self._record.parent_draft_id)
    last_submitted_pipeline_run_id = property(lambda self: self._record.last_submitted_run_id)

    @property
    def parent_step_run_ids(self) -> list[str]:
        """Azure ML's field; headrace drafts are never cloned from single steps, so it is empty."""
        return []

    # -- create and look up ------------------------------------------------------------------
    @staticmethod
    def create(workspace: Any, pipeline: Any, name: str | None = None, description: str | None = None,
               experiment_name: str | None = None, pipeline_parameters: Mapping[str, Any] | None = None,
               continue_on_step_failure: bool | None = None, tags: Mapping[str, str] | None = None,
               properties: Mapping[str, Any] | None = None) -> PipelineDraft:
        """Create a draft of a ``Pipeline`` (``name`` and ``experiment_name`` required), or clone a
        ``PublishedPipeline``, a ``PipelineRun`` or a ``PipelineDraft`` (the other arguments are then
        taken from it, as in Azure ML).

        Raises:
            ConfigError: ``pipeline`` is none of these, or a name is missing.
            DefinitionError: the pipeline is invalid.
            ParameterError: a parameter the pipeline does not declare, or a value of the wrong type.
        """
        from headrace.sdk.published import PublishedPipeline
        from headrace.sdk.runs import PipelineRun

        backend = workspace._backend
        if isinstance(pipeline, PublishedPipeline):
            return PipelineDraft(workspace, backend.clone_draft(published_pipeline_id=pipeline.id))
        if isinstance(pipeline, PipelineRun):
            return PipelineDraft(workspace, backend.clone_draft(run_id=pipeline.id))
        if isinstance(pipeline, PipelineDraft):
            return PipelineDraft(workspace, backend.clone_draft(draft_id=pipeline.id))
        if not hasattr(pipeline, "graph"):
            raise ConfigError(f"pipeline must be a Pipeline, PublishedPipeline, PipelineRun or PipelineDraft, "
                              f"got {type(pipeline).__name__}")
        if name is None or experiment_name is None:
            raise ConfigError(f"a draft of a Pipeline needs {'name' if name is None else 'experiment_name'}")
        record = backend.create_draft(
            pipeline, name=name, experiment_name=experiment_name, description=description,
            pipeline_parameters=_values(pipeline_parameters), continue_on_step_failure=continue_on_step_failure,
            tags=tags, properties=properties)
        return PipelineDraft(workspace, record)

    @staticmethod
    def get(workspace: Any, id: str) -> PipelineDraft:  # noqa: A002 - Azure ML's name
        """Raises: NotFoundError."""
        return PipelineDraft(workspace, workspace._backend.get_draft(id))

    @staticmethod
    def list(workspace: Any, tags: Mapping[str, str] | None = None) -> list[PipelineDraft]:
        """The workspace's drafts, newest first; with ``tags``, those having every ``{name: value}``."""
        return [PipelineDraft(workspace, r) for r in workspace._backend.list_drafts(tags)]

    # -- change ------------------------------------------------------------------------------
    def update(self, pipeline: Any = None, name: str | None = None, description: str | None = None,
               experiment_name: str | None = None, tags: Mapping[str, str] | None = None,
               pipeline_parameters: Mapping[str, Any] | None = None,
               continue_on_step_failure: bool | None = None) -> None:
        """Change what is given (None keeps a value); ``pipeline_parameters`` replaces them all.

        Raises:
            ConfigError: ``pipeline`` is not a ``Pipeline``.
            DefinitionError: the new pipeline is invalid.
            ParameterError: the draft's parameter values do not fit the (new) pipeline.
        """
        if pipeline is not None and not hasattr(pipeline, "graph"):
            raise ConfigError(f"pipeline must be a Pipeline, got {type(pipeline).__name__}")
        self._record = self.workspace._backend.update_draft(
            self.id, pipeline, name=name, description=description, experiment_name=experiment_name, tags=tags,
            pipeline_parameters=_values(pipeline_parameters), continue_on_step_failure=continue_on_step_failure)

    def submit_run(self):
        """Queue a run of the draft under its experiment; returns the ``PipelineRun``."""
        from headrace.sdk.published import _run

        record = self.workspace._backend.submit_draft(self.id)
        self._record = self.workspace._backend.get_draft(self.id)
        return _run(self.workspace, record)

    def publish(self):
        """Publish the draft's pipeline under the draft's name; returns the ``PublishedPipeline``."""
        from headrace.sdk.published import PublishedPipeline

        return PublishedPipeline(self.workspace, self.workspace._backend.publish_draft(self.id))

    def delete(self) -> None:
        """Delete the draft (its runs and what was published from it stay)."""
        self.workspace._backend.delete_draft(self.id)

    def __repr__(self) -> str:
        return (f"PipelineDraft(Name={self.name!r}, Id={self.id!r}, Tags={self.tags}, Properties={self.properties}, "
                f"LastSubmittedPipelineRunId={self.last_submitted_pipeline_run_id!r})")
