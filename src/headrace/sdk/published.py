"""``PublishedPipeline`` and ``PipelineEndpoint``: pipelines triggered by id, name or REST URL."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from headrace.errors import ConfigError
from headrace.storage.records import EntityStatus, PipelineEndpointRecord, PublishedPipelineRecord


def _run(workspace: Any, record: Any):
    from headrace.sdk.experiment import Experiment
    from headrace.sdk.runs import PipelineRun

    return PipelineRun(Experiment(workspace, record.experiment_name, _create=False), record.id, _record=record)


class PublishedPipeline:
    """A published pipeline: a frozen graph with an id, a version string and a REST endpoint.

    Example:
        >>> published = pipeline.publish(name="My_Published_Pipeline", version="1.0")
        >>> published.submit(ws, experiment_name="Exp", pipeline_parameters={"pipeline_arg": 30})
    """

    def __init__(self, workspace: Any, record: PublishedPipelineRecord):
        self.workspace = workspace
        self._record = record

    # -- fields --------------------------------------------------------------------------
    id = property(lambda self: self._record.id)
    name = property(lambda self: self._record.name)
    description = property(lambda self: self._record.description)
    version = property(lambda self: self._record.version)
    graph_id = property(lambda self: self._record.pipeline_id)
    continue_on_step_failure = property(lambda self: self._record.continue_on_step_failure)

    @property
    def status(self) -> str:
        return self._record.status.value

    @property
    def endpoint(self) -> str:
        """``{server}/api/v1/pipelines/{id}/submit``."""
        return self.workspace._backend.pipeline_url(self.id)

    @property
    def parameters(self) -> dict[str, dict[str, Any]]:
        """The parameter interface: name -> {"type", "default"}."""
        return dict(self.workspace._backend.published_graph(self.id)["parameters"])

    def get_step_names(self) -> list[str]:
        return [s["name"] for s in self.workspace._backend.published_graph(self.id)["steps"]]

    def get_graph(self) -> dict[str, Any]:
        return self.workspace._backend.published_graph(self.id)

    # -- lookup --------------------------------------------------------------------------
    @staticmethod
    def get(workspace: Any, id: str) -> PublishedPipeline:  # noqa: A002 - Azure ML's name
        """Raises: NotFoundError."""
        return PublishedPipeline(workspace, workspace._backend.get_published(id))

    @staticmethod
    def list(workspace: Any, active_only: bool = True) -> list[PublishedPipeline]:
        return [PublishedPipeline(workspace, r) for r in workspace._backend.list_published(active_only)]

    # -- control -------------------------------------------------------------------------
    def enable(self) -> None:
        self._record = self.workspace._backend.set_published_status(self.id, EntityStatus.ACTIVE)

    def disable(self) -> None:
        """Disable (there is no delete). Raises ConflictError while active schedules use it."""
        self._record = self.workspace._backend.set_published_status(self.id, EntityStatus.DISABLED)

    def submit(self, workspace: Any, experiment_name: str, pipeline_parameters: Mapping[str, Any] | None = None,
               continue_on_step_failure: bool | None = None, tags: Mapping[str, str] | None = None,
               description: str | None = None):
        """Queue a run; returns its ``PipelineRun``.

        Raises:
            ConflictError: the pipeline is disabled.
            ParameterError: unknown parameter (valid ones listed) or wrong type.
        """
        record = workspace._backend.submit_published(
            self.id, experiment_name, pipeline_parameters=pipeline_parameters,
            continue_on_step_failure=continue_on_step_failure, tags=tags, description=description,
        )
        return _run(workspace, record)

    def __repr__(self) -> str:
        return f"PublishedPipeline(id={self.id!r}, name={self.name!r}, version={self.version!r}, status={self.status!r})"


class PipelineVersion:
    """One version of a pipeline endpoint."""

    def __init__(self, version: str, pipeline: PublishedPipeline):
        self.version = version
        self.pipeline = pipeline

    def __repr__(self) -> str:
        return f"PipelineVersion(version={self.version!r}, pipeline_id={self.pipeline.id!r})"


class PipelineEndpoint:
    """A versioned endpoint: one stable id, name and URL across republishing.

    Example:
        >>> ep = PipelineEndpoint.publish(workspace=ws, name="PipelineEndpointTest", pipeline=published,
        ...                               description="...")
        >>> ep.add_default(published_v2); ep.submit("Exp", pipeline_version="0")
    """

    def __init__(self, workspace: Any, record: PipelineEndpointRecord):
        self.workspace = workspace
        self._record = record

    id = property(lambda self: self._record.id)
    name = property(lambda self: self._record.name)
    description = property(lambda self: self._record.description)
    default_version = property(lambda self: self._record.default_version)

    @property
    def status(self) -> str:
        return self._record.status.value

    @property
    def endpoint(self) -> str:
        """``{server}/api/v1/PipelineRuns/PipelineEndpointSubmit/Id/{id}``, Azure ML's shape: append
        ``/{version}`` for a version, or replace ``Id/{id}`` by ``Name?name=N[&pipelineVersion=V]``."""
        return self.workspace._backend.endpoint_url(self.id)

    @property
    def pipeline_version_list(self) -> list[tuple[str, str]]:
        return [(v.version, v.published_pipeline_id) for v in self._record.versions]

    # -- creation and lookup -------------------------------------------------------------
    @staticmethod
    def publish(workspace: Any, name: str, description: str | None, pipeline: Any) -> PipelineEndpoint:
        """Create an endpoint; ``pipeline`` is a ``PublishedPipeline`` or a ``Pipeline`` (published first).

        Raises:
            AlreadyExistsError: an endpoint has this name.
        """
        published = _published(workspace, pipeline, name)
        record = workspace._backend.publish_endpoint(name, published.id, description)
        return PipelineEndpoint(workspace, record)

    @staticmethod
    def get(workspace: Any, id: str | None = None, name: str | None = None) -> PipelineEndpoint:  # noqa: A002
        """By id (wins if both are given) or name. Raises: NotFoundError."""
        if id is None and name is None:
            raise ConfigError("PipelineEndpoint.get needs an id or a name")
        return PipelineEndpoint(workspace, workspace._backend.get_endpoint(id, name))

    @staticmethod
    def list(workspace: Any, active_only: bool = True, max_results: int = 100) -> list[PipelineEndpoint]:
        if max_results <= 0:
            return []
        return [PipelineEndpoint(workspace, r) for r in workspace._backend.list_endpoints(active_only)][:max_results]

    @staticmethod
    def get_all(workspace: Any, active_only: bool = True) -> list[PipelineEndpoint]:
        """Deprecated alias of ``list`` (as in Azure ML)."""
        warnings.warn("PipelineEndpoint.get_all is deprecated; use PipelineEndpoint.list", DeprecationWarning,
                      stacklevel=2)
        return PipelineEndpoint.list(workspace, active_only=active_only)

    # -- versions ------------------------------------------------------------------------
    def add(self, pipeline: Any) -> None:
        """Add a published pipeline (or a ``Pipeline``, published first) as the next version."""
        published = _published(self.workspace, pipeline, self.name)
        self._record = self.workspace._backend.add_endpoint_version(self.id, published.id, False)

    def add_default(self, pipeline: Any) -> None:
        """Add a version and make it the default."""
        published = _published(self.workspace, pipeline, self.name)
        self._record = self.workspace._backend.add_endpoint_version(self.id, published.id, True)

    def set_default_version(self, version: str) -> None:
        """Raises: NotFoundError naming the valid versions."""
        self._record = self.workspace._backend.set_endpoint_default(self.id, str(version))

    def set_default(self, pipeline: PublishedPipeline) -> None:
        for v in self._record.versions:
            if v.published_pipeline_id == pipeline.id:
                return self.set_default_version(v.version)
        raise ConfigError(f"published pipeline {pipeline.id} is not a version of endpoint {self.name!r}; add() it first")

    def get_default_version(self) -> str:
        return self._record.default_version

    def get_pipeline(self, version: str | None = None) -> PublishedPipeline:
        """The published pipeline of ``version`` (default version when None)."""
        entry = self._record.version(None if version is None else str(version))
        if entry is None:
            valid = ", ".join(v.version for v in self._record.versions)
            from headrace.errors import NotFoundError

            raise NotFoundError("pipeline endpoint version", str(version), f"versions of {self.name!r}: {valid}")
        return PublishedPipeline.get(self.workspace, entry.published_pipeline_id)

    def list_versions(self) -> list[PipelineVersion]:
        return [PipelineVersion(v.version, PublishedPipeline.get(self.workspace, v.published_pipeline_id))
                for v in self._record.versions]

    def list_pipelines(self, active_only: bool = True) -> list[PublishedPipeline]:
        pipelines = [v.pipeline for v in self.list_versions()]
        return [p for p in pipelines if p.status == "Active"] if active_only else pipelines

    get_all_versions = list_versions
    get_all_pipelines = list_pipelines  # Azure ML's older names

    # -- control -------------------------------------------------------------------------
    def submit(self, experiment_name: str, pipeline_parameters: Mapping[str, Any] | None = None,
               parent_run_id: str | None = None, pipeline_version: str | None = None,
               tags: Mapping[str, str] | None = None, description: str | None = None,
               continue_on_step_failure: bool | None = None):
        """Run the default version (or ``pipeline_version``); returns its ``PipelineRun``.

        ``parent_run_id`` is accepted for Azure ML's signature; headrace runs have no parent run.
        """
        record = self.workspace._backend.submit_endpoint(
            self.id, experiment_name, pipeline_parameters=pipeline_parameters,
            pipeline_version=None if pipeline_version is None else str(pipeline_version), tags=tags,
            description=description, continue_on_step_failure=continue_on_step_failure,
        )
        return _run(self.workspace, record)

    def enable(self) -> None:
        self._record = self.workspace._backend.set_endpoint_status(self.id, EntityStatus.ACTIVE)

    def disable(self) -> None:
        self._record = self.workspace._backend.set_endpoint_status(self.id, EntityStatus.DISABLED)

    def archive(self) -> None:
        """Disable the endpoint and free its name."""
        self._record = self.workspace._backend.archive_endpoint(self.id)

    def reactivate(self, name: str) -> PipelineEndpoint:
        """Enable an archived endpoint again under ``name``; returns it.

        Raises:
            AlreadyExistsError: another endpoint has this name.
        """
        self._record = self.workspace._backend.reactivate_endpoint(self.id, name)
        return self

    def set_name(self, name: str) -> None:
        """Rename the endpoint; its id and its URL by id stay.

        Raises:
            AlreadyExistsError: another endpoint has this name.
        """
        self._record = self.workspace._backend.rename_endpoint(self.id, name)

    def __repr__(self) -> str:
        return f"PipelineEndpoint(id={self.id!r}, name={self.name!r}, default_version={self.default_version!r})"


def _published(workspace: Any, pipeline: Any, name: str) -> PublishedPipeline:
    if isinstance(pipeline, PublishedPipeline):
        return pipeline
    if hasattr(pipeline, "graph"):
        from headrace import clock

        stamp = clock.now().strftime("%m-%d-%Y-%H-%M")
        return PublishedPipeline(workspace, workspace._backend.publish_pipeline(pipeline, name=f"{name}-{stamp}-Pipeline"))
    raise ConfigError(f"expected a PublishedPipeline or a Pipeline, got {type(pipeline).__name__}")
