"""The remote backend: SDK calls served by a headrace server over HTTP (``HeadraceClient``).

It offers the methods of ``LocalBackend`` and returns the same records, so the SDK classes behave
the same against either. What differs is where work happens: a pipeline's graph is built and its
source folders are snapshotted here, then uploaded (``PUT /snapshots``), stored (``POST /graphs``)
and run (``POST /runs``) or published (``POST /pipelines``) by the server, whose agent executes it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from headrace.client import HeadraceClient
from headrace.datastores.base import Datastore
from headrace.datastores.snapshots import store_snapshot
from headrace.errors import DefinitionError, HeadraceError, NotFoundError, ParameterTypeError, RemoteError
from headrace.schemas import (
    EndpointVersionCreate,
    PipelineEndpointCreate,
    PipelineEndpointRead,
    PublishedPipelineCreate,
    PublishedPipelineRead,
    RunCreate,
    RunPublish,
    SubmitRequest,
    SubmitResponse,
)
from headrace.sdk import wire
from headrace.sdk.remote_datastore import RemoteDatastore, SnapshotUploads
from headrace.sdk.remote_drafts import RemoteDrafts
from headrace.sdk.remote_modules import RemoteModules
from headrace.sdk.remote_schedules import RemoteSchedules
from headrace.sdk.runs.backends import RemoteTracking
from headrace.storage.records import (
    ComputeTargetRecord,
    DatastoreRecord,
    EntityStatus,
    ExperimentRecord,
    PipelineEndpointRecord,
    PublishedPipelineRecord,
    RunRecord,
    StepRunRecord,
)

POLL_SECONDS = 0.1
"""First wait between two polls of a run (``wait_for_completion`` backs off to 0.5 s)."""


class RemoteBackend(RemoteSchedules, RemoteDrafts, RemoteModules, RemoteTracking):
    """Serves SDK calls from a headrace server (the schedule and draft calls: ``RemoteSchedules``, ``RemoteDrafts``).

    Args:
        client: the server's client.
    """

    is_local = False
    home = None

    def __init__(self, client: HeadraceClient):
        self.client = client
        self._urls: dict[str, str] = {}  # published pipeline / endpoint id -> its Endpoint URL
        self._graphs: dict[str, dict[str, Any]] = {}  # published pipeline id -> graph (immutable)
        self._datastore_records: dict[str, DatastoreRecord] = {}
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self.client.url

    def close(self) -> None:
        self.client.close()

    # -- runs ----------------------------------------------------------------------------
    def submit_pipeline(self, pipeline: Any, experiment_name: str, *,
                        pipeline_parameters: Mapping[str, Any] | None = None,
                        continue_on_step_failure: bool = False, regenerate_outputs: bool = False,
                        tags: Mapping[str, str] | None = None, description: str | None = None,
                        kind: str = "pipeline", parent_run_id: str | None = None) -> RunRecord:
        graph_id = self._upload_graph(pipeline)
        scalars, paths = _assignments(pipeline_parameters)
        body = RunCreate(GraphId=graph_id, ExperimentName=experiment_name, ParameterAssignments=scalars,
                         DataPathAssignments=paths, ContinueRunOnStepFailure=bool(continue_on_step_failure),
                         RegenerateOutputs=bool(regenerate_outputs), Tags=_tags(tags), Description=description,
                         Kind=str(kind), ParentRunId=parent_run_id)
        return wire.run_record(self.client.create_run(body))

    def _upload_graph(self, pipeline: Any) -> str:
        """Snapshot every step's source folder to the server, then store the graph there; returns its id.

        Raises:
            DefinitionError: the pipeline is invalid, or a source folder cannot be snapshotted (the
                step is named), or the server refuses the graph (every problem listed).
        """
        graph = pipeline.graph()
        uploads = SnapshotUploads(self.client)
        done: dict[str, str] = {}  # one snapshot (one HEAD, maybe one upload) per source folder
        for step in graph["steps"]:
            if step.get("snapshot"):
                continue  # a module version's, uploaded when it was published
            try:
                folder = step["source_directory"]
                if folder not in done:
                    done[folder] = store_snapshot(folder, uploads)
                step["snapshot"] = done[folder]
            except RemoteError:
                raise  # the server is down or refused the token: not a problem of the definition
            except HeadraceError as exc:
                raise DefinitionError([f"step {step['name']!r}: cannot snapshot its source_directory: {exc}"]) from exc
        return self.client.create_graph(graph)

    def get_run(self, run_id: str) -> RunRecord:
        return wire.run_record(self.client.get_run(run_id))

    def list_runs(self, experiment_name: str | None = None, limit: int = 100) -> list[RunRecord]:
        return list(self.iter_runs(experiment_name, limit=limit))

    def iter_runs(self, experiment_name: str | None = None, *, limit: int | None = None,
                  tags: dict[str, str] | None = None) -> Iterator[RunRecord]:
        """Runs newest first, page by page (all of them unless ``limit``); tags are matched here."""
        seen = 0
        for read in self.client.iter_runs(experiment_name=experiment_name, page_size=wire.RUN_PAGE,
                                          limit=None if tags else limit):
            record = wire.run_record(read)
            if tags and any(record.tags.get(k) != v for k, v in tags.items()):
                continue
            yield record
            seen += 1
            if limit is not None and seen >= limit:
                return

    def count_runs(self, experiment_names: list[str]) -> dict[str, int]:
        counts = dict.fromkeys(experiment_names, 0)
        for name in counts:
            counts[name] = sum(1 for _ in self.client.iter_runs(experiment_name=name, page_size=wire.RUN_PAGE))
        return counts

    def cancel_run(self, run_id: str) -> RunRecord:
        return wire.run_record(self.client.cancel_run(run_id))

    def list_step_runs(self, run_id: str) -> list[StepRunRecord]:
        return [wire.step_record(s) for s in self.client.list_steps(run_id)]

    def get_step_run(self, step_run_id: str) -> StepRunRecord:
        return wire.step_record(self.client.get_step_run(step_run_id))

    def find_step_run(self, run_id: str, step: str) -> StepRunRecord:
        steps = self.list_step_runs(run_id)
        for s in steps:
            if step in (s.name, s.id):
                return s
        names = ", ".join(s.name for s in steps)
        raise NotFoundError("step", step, f"steps of run {run_id}: {names}")

    def read_step_log(self, step: StepRunRecord, which: str) -> str:
        return self.client.step_log(step.run_id, step.id, which)

    def step_metrics(self, step: StepRunRecord) -> dict[str, Any]:
        return self.client.step_metrics(step.run_id, step.id)

    def run_metrics(self, run_id: str) -> dict[str, Any]:
        return self.client.run_metrics(run_id)

    # -- published pipelines and endpoints ------------------------------------------------
    def _published(self, read: PublishedPipelineRead) -> PublishedPipelineRecord:
        with self._lock:
            self._urls[read.Id] = read.Endpoint
            if read.Graph is not None:
                self._graphs[read.Id] = read.Graph
        return wire.published_record(read)

    def _endpoint(self, read: PipelineEndpointRead) -> PipelineEndpointRecord:
        with self._lock:
            self._urls[read.Id] = read.Endpoint
        return wire.endpoint_record(read)

    def publish_pipeline(self, pipeline: Any, *, name: str, description: str | None = None,
                         version: str | None = None, continue_on_step_failure: bool | None = None
                         ) -> PublishedPipelineRecord:
        graph_id = self._upload_graph(pipeline)
        body = PublishedPipelineCreate(GraphId=graph_id, Name=name, Description=description,
                                       Version=None if version is None else str(version),
                                       ContinueRunOnStepFailure=continue_on_step_failure)
        return self._published(self.client.publish_graph(body))

    def publish_run(self, run_id: str, *, name: str, description: str | None = None, version: str | None = None,
                    continue_on_step_failure: bool | None = None) -> PublishedPipelineRecord:
        body = RunPublish(Name=name, Description=description, Version=None if version is None else str(version),
                          ContinueRunOnStepFailure=continue_on_step_failure)
        return self._published(self.client.publish_run(run_id, body))

    def get_published(self, published_id: str) -> PublishedPipelineRecord:
        return self._published(self.client.get_pipeline(published_id))

    def list_published(self, active_only: bool = True) -> list[PublishedPipelineRecord]:
        return [self._published(p) for p in self.client.list_pipelines(active_only)]

    def set_published_status(self, published_id: str, status: EntityStatus) -> PublishedPipelineRecord:
        return self._published(self.client.set_pipeline_enabled(published_id, status is EntityStatus.ACTIVE))

    def published_graph(self, published_id: str) -> dict[str, Any]:
        with self._lock:
            graph = self._graphs.get(published_id)
        if graph is None:
            self.get_published(published_id)
            with self._lock:
                graph = self._graphs[published_id]
        return graph

    def submit_published(self, published_id: str, experiment_name: str, **options: Any) -> RunRecord:
        return self._run_of(self.client.submit_pipeline(published_id, _submit_body(experiment_name, **options)))

    def publish_endpoint(self, name: str, published_pipeline_id: str, description: str | None) -> PipelineEndpointRecord:
        body = PipelineEndpointCreate(Name=name, Description=description, PipelineId=published_pipeline_id)
        return self._endpoint(self.client.create_endpoint(body))

    def get_endpoint(self, endpoint_id: str | None = None, name: str | None = None) -> PipelineEndpointRecord:
        if endpoint_id is not None:
            return self._endpoint(self.client.get_endpoint(endpoint_id))
        if name is None:
            raise NotFoundError("pipeline endpoint", "", "give an id or a name")
        return self._endpoint(self.client.get_endpoint_by_name(name))

    def list_endpoints(self, active_only: bool = True) -> list[PipelineEndpointRecord]:
        return [self._endpoint(e) for e in self.client.list_endpoints(active_only)]

    def add_endpoint_version(self, endpoint_id: str, published_id: str, make_default: bool) -> PipelineEndpointRecord:
        body = EndpointVersionCreate(PipelineId=published_id, MakeDefault=make_default)
        return self._endpoint(self.client.add_endpoint_version(endpoint_id, body))

    def set_endpoint_default(self, endpoint_id: str, version: str) -> PipelineEndpointRecord:
        return self._endpoint(self.client.set_endpoint_default(endpoint_id, version))

    def set_endpoint_status(self, endpoint_id: str, status: EntityStatus) -> PipelineEndpointRecord:
        action = "enable" if status is EntityStatus.ACTIVE else "disable"
        return self._endpoint(self.client.set_endpoint_status(endpoint_id, action))

    def archive_endpoint(self, endpoint_id: str) -> PipelineEndpointRecord:
        return self._endpoint(self.client.set_endpoint_status(endpoint_id, "archive"))

    def rename_endpoint(self, endpoint_id: str, name: str) -> PipelineEndpointRecord:
        return self._endpoint(self.client.rename_endpoint(endpoint_id, name))

    def reactivate_endpoint(self, endpoint_id: str, name: str) -> PipelineEndpointRecord:
        return self._endpoint(self.client.reactivate_endpoint(endpoint_id, name))

    def submit_endpoint(self, endpoint_id: str, experiment_name: str, *, pipeline_version: str | None = None,
                        **options: Any) -> RunRecord:
        body = _submit_body(experiment_name, **options)
        return self._run_of(self.client.submit_endpoint(endpoint_id, body, pipeline_version=pipeline_version))

    def _run_of(self, answer: SubmitResponse) -> RunRecord:
        return self.get_run(answer.Id)

    def endpoint_url(self, endpoint_id: str) -> str:
        """The ``Endpoint`` URL the server gave for this pipeline endpoint."""
        with self._lock:
            url = self._urls.get(endpoint_id)
        return url or self.client.get_endpoint(endpoint_id).Endpoint

    def pipeline_url(self, published_id: str) -> str:
        """The ``Endpoint`` URL the server gave for this published pipeline."""
        with self._lock:
            url = self._urls.get(published_id)
        return url or self._published_url(published_id)

    def _published_url(self, published_id: str) -> str:
        self.get_published(published_id)
        return self._urls[published_id]

    # -- experiments and datastores ------------------------------------------------------
    def list_experiments(self) -> list[ExperimentRecord]:
        return [wire.experiment_record(e) for e in self.client.list_experiments()]

    def get_experiment(self, name: str) -> ExperimentRecord:
        return wire.experiment_record(self.client.get_experiment(name))

    def datastore(self, name: str) -> Datastore:
        """The datastore ``name`` of the server.

        Raises:
            NotFoundError: no such datastore; the message lists the registered ones.
        """
        record = self._fetch_datastore(name)
        return RemoteDatastore(self.client, record.name, record.root_uri)

    def _fetch_datastore(self, name: str) -> DatastoreRecord:
        try:
            record = wire.datastore_record(self.client.get_datastore(name))
        except NotFoundError:
            known = ", ".join(d.Name for d in self.client.list_datastores()) or "none"
            raise NotFoundError("datastore", name, f"registered datastores: {known}") from None
        with self._lock:
            self._datastore_records[name] = record
        return record

    def datastore_record(self, name: str) -> DatastoreRecord:
        with self._lock:
            record = self._datastore_records.get(name)
        return record or self._fetch_datastore(name)

    def register_cloud_datastore(self, name: str, kind: str, fields: dict, overwrite: bool,
                                 create: bool) -> DatastoreRecord:
        """Register a cloud datastore on the server (it reaches the store, so the server needs the network)."""
        record = wire.datastore_record(self.client.register_cloud_datastore(
            name, kind, fields, overwrite=overwrite, create_if_not_exists=create))
        with self._lock:
            self._datastore_records[name] = record
        return record

    def unregister_datastore(self, name: str) -> None:
        self.client.unregister_datastore(name)
        with self._lock:
            self._datastore_records.pop(name, None)

    def register_local_datastore(self, name: str, path: str) -> DatastoreRecord:
        """Register a folder *of the server's machine* as a datastore."""
        record = wire.datastore_record(self.client.register_datastore(name, path))
        with self._lock:
            self._datastore_records[name] = record
        return record

    def list_datastores(self) -> list[DatastoreRecord]:
        return [wire.datastore_record(d) for d in self.client.list_datastores()]

    def default_datastore_name(self) -> str:
        return next((d.Name for d in self.client.list_datastores() if d.IsDefault), "workspaceblobstore")

    def set_default_datastore(self, name: str) -> None:
        self.client.set_default_datastore(name)

    # -- compute targets -----------------------------------------------------------------
    def list_compute_targets(self) -> list[ComputeTargetRecord]:
        return [wire.compute_record(c) for c in self.client.list_computes()]

    def get_compute_target(self, name: str) -> ComputeTargetRecord:
        return wire.compute_record(self.client.get_compute(name))

    def create_compute_target(self, name: str, type: str, config: dict[str, Any],
                              description: str | None = None) -> ComputeTargetRecord:
        return wire.compute_record(self.client.put_compute(name, type, config, description))

    def delete_compute_target(self, name: str) -> None:
        self.client.delete_compute(name)

    # -- waiting -------------------------------------------------------------------------
    def wait_interval(self) -> float:
        return POLL_SECONDS

    def before_wait(self, run_id: str) -> None:
        """Nothing to start: the server's agents run the queued runs."""

    def change_marker(self) -> int:
        return 0

    def wait_for_change(self, since: int, timeout: float) -> None:
        """No run events cross HTTP: just wait ``timeout`` before the next poll."""
        threading.Event().wait(timeout)


def _tags(tags: Mapping[str, Any] | None) -> dict[str, str] | None:
    return None if tags is None else {str(k): str(v) for k, v in tags.items()}


def _assignments(values: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(ParameterAssignments, DataPathAssignments) of submitted values.

    Raises:
        ParameterTypeError: a value that cannot travel as JSON (the embedded workspace would refuse it too).
    """
    scalars, paths = wire.split_assignments(values)
    for name, value in scalars.items():
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            raise ParameterTypeError(
                f"parameter {name!r} got {value!r} ({type(value).__name__}), which cannot be sent to the server; "
                "give a number, a string, a boolean or a DataPath", parameter=name) from None
    return scalars, paths


def _submit_body(experiment_name: str, *, pipeline_parameters: Mapping[str, Any] | None = None,
                 continue_on_step_failure: bool | None = None, tags: Mapping[str, str] | None = None,
                 description: str | None = None) -> SubmitRequest:
    scalars, paths = _assignments(pipeline_parameters)
    return SubmitRequest.model_validate({
        "ExperimentName": experiment_name, "ParameterAssignments": scalars, "DataPathAssignments": paths,
        "ContinueRunOnStepFailure": continue_on_step_failure, "Tags": _tags(tags), "Description": description,
        "RunSource": "SDK",
    })
