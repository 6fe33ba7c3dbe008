"""``HeadraceClient``: the REST API of a headrace server (``/api/v1``) as Python calls.

Every call returns a wire model of ``headrace.schemas`` (or bytes, text, a dict) and raises only
``HeadraceError``s. Sending, retries and error answers are ``ApiSession``'s (``client/session.py``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from headrace.client.datasets import DatasetCalls
from headrace.client.environments import EnvironmentCalls
from headrace.client.error_mapping import error_from_response
from headrace.client.events import EventCalls
from headrace.client.models import ModelCalls
from headrace.client.modules import ModuleCalls
from headrace.client.session import API, ApiSession, seg
from headrace.client.tracking import TrackingCalls
from headrace.schemas import (
    ExperimentList,
    ExperimentRead,
    GraphRead,
    HealthRead,
    PipelineEndpointList,
    PipelineEndpointRead,
    PublishedPipelineList,
    PublishedPipelineRead,
    RunList,
    RunRead,
    ScheduleList,
    ScheduleRead,
    ScheduleTickList,
    ScheduleTickRead,
    SnapshotRead,
    StepRunList,
    StepRunRead,
    SubmitResponse,
)
from headrace.schemas.compute import ComputeList, ComputeRead
from headrace.schemas.datastores import DatastoreList, DatastoreRead, FileList, FileRead
from headrace.schemas.drafts import PipelineDraftList, PipelineDraftRead
from headrace.schemas.flows import FlowList, FlowRead


class HeadraceClient(DatasetCalls, EnvironmentCalls, EventCalls, ModelCalls, ModuleCalls, TrackingCalls, ApiSession):
    """A client of one headrace server.

    Args:
        url: the server's address, e.g. ``http://127.0.0.1:8765`` (a trailing ``/api/v1`` is accepted).
        token: a token from ``headrace token create``; None for a server running without auth.
        timeout: seconds a call may take.
        retries: retries after a transport failure.
        transport: an ``httpx`` transport (tests pass ``httpx.MockTransport``).

    Example:
        >>> with HeadraceClient("http://127.0.0.1:8765", token) as client:  # doctest: +SKIP
        ...     run = client.get_run(run_id)
        ...     print(run.Status, [s.Name for s in run.Steps])
    """

    # -- server ---------------------------------------------------------------------------------
    def health(self) -> HealthRead:
        """``GET /health`` (needs no token)."""
        return self._model(HealthRead, "GET", "/health")

    # -- runs -----------------------------------------------------------------------------------
    def list_runs(self, *, experiment_name: str | None = None, status: list[str] | None = None,
                  pipeline_id: str | None = None, pipeline_endpoint_id: str | None = None, limit: int = 100,
                  continuation_token: str | None = None, parent_run_id: str | None = None) -> RunList:
        """One page of runs, newest first; ``ContinuationToken`` fetches the next."""
        params = {"experimentName": experiment_name, "status": status, "pipelineId": pipeline_id,
                  "pipelineEndpointId": pipeline_endpoint_id, "limit": limit,
                  "continuationToken": continuation_token, "parentRunId": parent_run_id}
        return self._model(RunList, "GET", "/runs", params=params)

    def iter_runs(self, *, limit: int | None = None, page_size: int = 100, **filters: Any) -> Iterator[RunRead]:
        """Runs newest first across pages, at most ``limit`` of them."""
        token, seen = None, 0
        while True:
            size = page_size if limit is None else max(1, min(page_size, limit - seen))
            page = self.list_runs(limit=size, continuation_token=token, **filters)
            for run in page.Value:
                if limit is not None and seen >= limit:
                    return
                seen += 1
                yield run
            token = page.ContinuationToken
            if not token or not page.Value or (limit is not None and seen >= limit):
                return

    def get_run(self, run_id: str) -> RunRead:
        """A run with its ``Steps``."""
        return self._model(RunRead, "GET", f"/runs/{seg(run_id)}")

    def create_run(self, body: BaseModel, idempotency_key: str | None = None) -> RunRead:
        """``POST /runs`` (a ``RunCreate``): run a graph stored with ``create_graph``."""
        return self._model(RunRead, "POST", "/runs", json_body=self._body(body),
                           headers={"Idempotency-Key": idempotency_key or uuid.uuid4().hex}, idempotent=True)

    def list_steps(self, run_id: str) -> list[StepRunRead]:
        return self._model(StepRunList, "GET", f"/runs/{seg(run_id)}/steps").Value

    def get_step_run(self, step_run_id: str) -> StepRunRead:
        return self._model(StepRunRead, "GET", f"/step-runs/{seg(step_run_id)}")

    def step_log(self, run_id: str, step: str, log: str = "stdout", tail: int | None = None) -> str:
        """A step's ``stdout``, ``stderr`` or ``execution`` log; ``step`` is its name or step run id."""
        path = f"/runs/{seg(run_id)}/steps/{seg(step)}/logs"
        if tail is not None:
            return self.request("GET", path, params={"log": log, "tail": tail}).content.decode("utf-8", "replace")
        # A read without offset is capped (the log's end): page through it, 16 MiB at a time.
        parts, offset = [], 0
        while True:
            response = self.request("GET", path, params={"log": log, "offset": offset, "maxBytes": 16 * 1024 * 1024})
            parts.append(response.content)
            end, size = response.headers.get("X-Log-End"), response.headers.get("X-Log-Size")
            if end is None or size is None or int(end) >= int(size) or not response.content:
                return b"".join(parts).decode("utf-8", "replace")
            offset = int(end)

    def run_metrics(self, run_id: str) -> dict[str, Any]:
        return self._json("GET", f"/runs/{seg(run_id)}/metrics")

    def step_metrics(self, run_id: str, step: str) -> dict[str, Any]:
        return self._json("GET", f"/runs/{seg(run_id)}/steps/{seg(step)}/metrics")

    def cancel_run(self, run_id: str) -> RunRead:
        return self._model(RunRead, "POST", f"/runs/{seg(run_id)}/cancel", idempotent=True)

    def publish_run(self, run_id: str, body: BaseModel) -> PublishedPipelineRead:
        """``POST /runs/{id}/publish`` (a ``RunPublish``)."""
        return self._model(PublishedPipelineRead, "POST", f"/runs/{seg(run_id)}/publish", json_body=self._body(body))

    # -- snapshots and graphs (the remote SDK's submit and publish) -----------------------------
    def has_snapshot(self, digest: str) -> bool:
        response = self.send("HEAD", f"/snapshots/{seg(digest)}")
        if response.status_code == 404:
            return False
        if response.status_code >= 400:
            raise self._error(response, "HEAD", f"/snapshots/{digest}")
        return True

    def get_snapshot(self, digest: str) -> bytes:
        """A stored snapshot's archive (tar.gz). Raises: NotFoundError."""
        return self.request("GET", f"/snapshots/{seg(digest)}").content

    def put_snapshot(self, digest: str, archive: bytes) -> SnapshotRead:
        """Upload a ``store_snapshot`` archive (tar.gz) whose files hash to ``digest``."""
        return self._model(SnapshotRead, "PUT", f"/snapshots/{seg(digest)}", content=archive,
                           headers={"Content-Type": "application/gzip"})

    def create_graph(self, graph: Mapping[str, Any]) -> str:
        """Store a ``Pipeline.graph()`` whose steps carry uploaded snapshots; returns its id.

        Storing is deduplicated by content, so a repeat is harmless.
        """
        return self._model(GraphRead, "POST", "/graphs", json_body={"Graph": graph}, idempotent=True).GraphId

    # -- published pipelines --------------------------------------------------------------------
    def list_pipelines(self, active_only: bool = True) -> list[PublishedPipelineRead]:
        return self._model(PublishedPipelineList, "GET", "/pipelines", params={"activeOnly": active_only}).Value

    def get_pipeline(self, pipeline_id: str) -> PublishedPipelineRead:
        """A published pipeline with its ``Graph``."""
        return self._model(PublishedPipelineRead, "GET", f"/pipelines/{seg(pipeline_id)}")

    def publish_graph(self, body: BaseModel) -> PublishedPipelineRead:
        """``POST /pipelines`` (a ``PublishedPipelineCreate``)."""
        return self._model(PublishedPipelineRead, "POST", "/pipelines", json_body=self._body(body))

    def set_pipeline_enabled(self, pipeline_id: str, enabled: bool) -> PublishedPipelineRead:
        action = "enable" if enabled else "disable"
        return self._model(PublishedPipelineRead, "POST", f"/pipelines/{seg(pipeline_id)}/{action}", idempotent=True)

    def submit_pipeline(self, pipeline_id: str, body: BaseModel, idempotency_key: str | None = None) -> SubmitResponse:
        """``POST /pipelines/{id}/submit`` with a ``SubmitRequest`` (the Azure ML v1 body)."""
        return self._model(SubmitResponse, "POST", f"/pipelines/{seg(pipeline_id)}/submit",
                           json_body=self._body(body), idempotent=True,
                           headers={"Idempotency-Key": idempotency_key or uuid.uuid4().hex,
                                    "Headrace-Unknown-Parameters": "error"})

    # -- pipeline endpoints ---------------------------------------------------------------------
    def list_endpoints(self, active_only: bool = True) -> list[PipelineEndpointRead]:
        return self._model(PipelineEndpointList, "GET", "/pipeline-endpoints", params={"activeOnly": active_only}).Value

    def get_endpoint(self, endpoint_id: str) -> PipelineEndpointRead:
        return self._model(PipelineEndpointRead, "GET", f"/pipeline-endpoints/{seg(endpoint_id)}")

    def get_endpoint_by_name(self, name: str) -> PipelineEndpointRead:
        return self._model(PipelineEndpointRead, "GET", f"/pipeline-endpoints/by-name/{seg(name)}")

    def create_endpoint(self, body: BaseModel) -> PipelineEndpointRead:
        """``POST /pipeline-endpoints`` (a ``PipelineEndpointCreate``)."""
        return self._model(PipelineEndpointRead, "POST", "/pipeline-endpoints", json_body=self._body(body))

    def add_endpoint_version(self, endpoint_id: str, body: BaseModel) -> PipelineEndpointRead:
        """``POST /pipeline-endpoints/{id}/versions`` (an ``EndpointVersionCreate``)."""
        return self._model(PipelineEndpointRead, "POST", f"/pipeline-endpoints/{seg(endpoint_id)}/versions",
                           json_body=self._body(body))

    def set_endpoint_default(self, endpoint_id: str, version: str) -> PipelineEndpointRead:
        return self._model(PipelineEndpointRead, "PUT", f"/pipeline-endpoints/{seg(endpoint_id)}/default-version",
                           json_body={"Version": str(version)})

    def rename_endpoint(self, endpoint_id: str, name: str) -> PipelineEndpointRead:
        return self._model(PipelineEndpointRead, "PUT", f"/pipeline-endpoints/{seg(endpoint_id)}/name",
                           json_body={"Name": name})

    def reactivate_endpoint(self, endpoint_id: str, name: str) -> PipelineEndpointRead:
        return self._model(PipelineEndpointRead, "POST", f"/pipeline-endpoints/{seg(endpoint_id)}/reactivate",
                           json_body={"Name": name})

    def set_endpoint_status(self, endpoint_id: str, action: str) -> PipelineEndpointRead:
        """``action``: ``enable``, ``disable`` or ``archive``."""
        return self._model(PipelineEndpointRead, "POST", f"/pipeline-endpoints/{seg(endpoint_id)}/{action}",
                           idempotent=True)

    def submit_endpoint(self, endpoint_id: str, body: BaseModel, pipeline_version: str | None = None,
                        idempotency_key: str | None = None) -> SubmitResponse:
        """``POST /pipeline-endpoints/{id}/submit[?pipelineVersion=N]`` with a ``SubmitRequest``."""
        return self._model(SubmitResponse, "POST", f"/pipeline-endpoints/{seg(endpoint_id)}/submit",
                           params={"pipelineVersion": pipeline_version}, json_body=self._body(body),
                           idempotent=True, headers={"Idempotency-Key": idempotency_key or uuid.uuid4().hex,
                                    "Headrace-Unknown-Parameters": "error"})

    # -- pipeline drafts ------------------------------------------------------------------------
    def create_draft(self, body: BaseModel) -> PipelineDraftRead:
        """``POST /pipeline-drafts`` (a ``PipelineDraftCreate``)."""
        return self._model(PipelineDraftRead, "POST", "/pipeline-drafts", json_body=self._body(body))

    def get_draft(self, draft_id: str) -> PipelineDraftRead:
        return self._model(PipelineDraftRead, "GET", f"/pipeline-drafts/{seg(draft_id)}")

    def list_drafts(self, tags: Mapping[str, str] | None = None) -> list[PipelineDraftRead]:
        params = {"tag": [f"{k}={v}" for k, v in (tags or {}).items()]}
        return self._model(PipelineDraftList, "GET", "/pipeline-drafts", params=params).Value

    def update_draft(self, draft_id: str, body: BaseModel) -> PipelineDraftRead:
        """``PATCH /pipeline-drafts/{id}`` (a ``PipelineDraftUpdate``)."""
        return self._model(PipelineDraftRead, "PATCH", f"/pipeline-drafts/{seg(draft_id)}", json_body=self._body(body))

    def delete_draft(self, draft_id: str) -> None:
        self.request("DELETE", f"/pipeline-drafts/{seg(draft_id)}")

    def submit_draft(self, draft_id: str) -> RunRead:
        return self._model(RunRead, "POST", f"/pipeline-drafts/{seg(draft_id)}/submit")

    def publish_draft(self, draft_id: str) -> PublishedPipelineRead:
        return self._model(PublishedPipelineRead, "POST", f"/pipeline-drafts/{seg(draft_id)}/publish")

    # -- schedules ------------------------------------------------------------------------------
    def list_schedules(self, active_only: bool = True, pipeline_id: str | None = None,
                       pipeline_endpoint_id: str | None = None) -> list[ScheduleRead]:
        """Schedules, newest first; with a pipeline or endpoint id, all of its schedules (``active_only`` ignored)."""
        params = {"activeOnly": active_only, "pipelineId": pipeline_id, "pipelineEndpointId": pipeline_endpoint_id}
        return self._model(ScheduleList, "GET", "/schedules", params=params).Value

    def get_schedule(self, schedule_id: str) -> ScheduleRead:
        return self._model(ScheduleRead, "GET", f"/schedules/{seg(schedule_id)}")

    def create_schedule(self, body: BaseModel) -> ScheduleRead:
        """``POST /schedules`` (a ``ScheduleCreate``); not retried once sent (a repeat would make a second one)."""
        return self._model(ScheduleRead, "POST", "/schedules", json_body=self._body(body))

    def update_schedule(self, schedule_id: str, body: BaseModel) -> ScheduleRead:
        """``PUT /schedules/{id}`` (a ``ScheduleUpdate``: missing fields keep their value)."""
        return self._model(ScheduleRead, "PUT", f"/schedules/{seg(schedule_id)}", json_body=self._body(body))

    def enable_schedule(self, schedule_id: str) -> ScheduleRead:
        """Activate it: it fires from now on (slots missed while disabled never run)."""
        return self._model(ScheduleRead, "POST", f"/schedules/{seg(schedule_id)}/enable", idempotent=True)

    def disable_schedule(self, schedule_id: str) -> ScheduleRead:
        return self._model(ScheduleRead, "POST", f"/schedules/{seg(schedule_id)}/disable", idempotent=True)

    def delete_schedule(self, schedule_id: str) -> None:
        """Delete a disabled schedule (``ConflictError`` while it is active)."""
        self.request("DELETE", f"/schedules/{seg(schedule_id)}")

    def schedule_runs(self, schedule_id: str, limit: int = 100) -> list[RunRead]:
        return self._model(RunList, "GET", f"/schedules/{seg(schedule_id)}/runs", params={"limit": limit}).Value

    def schedule_ticks(self, schedule_id: str, limit: int = 100) -> list[ScheduleTickRead]:
        return self._model(ScheduleTickList, "GET", f"/schedules/{seg(schedule_id)}/ticks",
                           params={"limit": limit}).Value

    # -- experiments ----------------------------------------------------------------------------
    def list_experiments(self) -> list[ExperimentRead]:
        return self._model(ExperimentList, "GET", "/experiments").Value

    def get_experiment(self, name: str) -> ExperimentRead:
        return self._model(ExperimentRead, "GET", f"/experiments/{seg(name)}")

    # -- datastores -----------------------------------------------------------------------------
    def list_datastores(self) -> list[DatastoreRead]:
        return self._model(DatastoreList, "GET", "/datastores").Value

    def get_datastore(self, name: str) -> DatastoreRead:
        return self._model(DatastoreRead, "GET", f"/datastores/{seg(name)}")

    def register_datastore(self, name: str, path: str) -> DatastoreRead:
        """Register a folder *of the server's machine* as a datastore (a repeat with the same folder is harmless)."""
        return self._model(DatastoreRead, "POST", "/datastores", json_body={"Name": name, "Path": path},
                           idempotent=True)

    def register_cloud_datastore(self, name: str, kind: str, fields: Mapping[str, Any], *, overwrite: bool = False,
                                 create_if_not_exists: bool = False) -> DatastoreRead:
        """Register a cloud datastore (its secrets travel once, in this request, and are stored encrypted)."""
        body = {"Name": name, "Kind": kind, "Fields": {k: str(v) for k, v in fields.items() if v not in (None, "")},
                "Overwrite": overwrite, "CreateIfNotExists": create_if_not_exists}
        return self._model(DatastoreRead, "POST", "/datastores/cloud", json_body=body)

    def set_default_datastore(self, name: str) -> DatastoreRead:
        return self._model(DatastoreRead, "PUT", f"/datastores/{seg(name)}/default")

    def unregister_datastore(self, name: str) -> None:
        self.request("DELETE", f"/datastores/{seg(name)}")

    def list_computes(self) -> list[ComputeRead]:
        return self._model(ComputeList, "GET", "/computes").Value

    def get_compute(self, name: str) -> ComputeRead:
        return self._model(ComputeRead, "GET", f"/computes/{seg(name)}")

    def put_compute(self, name: str, type: str, properties: dict[str, Any], description: str | None) -> ComputeRead:
        body = {"Type": type, "Properties": properties, "Description": description}
        return self._model(ComputeRead, "PUT", f"/computes/{seg(name)}", json_body=body, idempotent=True)

    def delete_compute(self, name: str) -> None:
        self.request("DELETE", f"/computes/{seg(name)}")

    def list_files(self, name: str, prefix: str = "", recursive: bool = True) -> list[FileRead]:
        return self._model(FileList, "GET", f"/datastores/{seg(name)}/files",
                           params={"prefix": prefix, "recursive": recursive}).Value

    def read_file(self, name: str, path: str) -> bytes:
        return self.request("GET", f"/datastores/{seg(name)}/files/{quote(path, safe='/')}").content

    def write_file(self, name: str, path: str, data: bytes, overwrite: bool = False) -> FileRead:
        """Write one file. Without ``overwrite`` a repeat could find its own first write, so it is not retried."""
        return self._model(FileRead, "PUT", f"/datastores/{seg(name)}/files/{quote(path, safe='/')}",
                           params={"overwrite": overwrite}, content=data, idempotent=overwrite,
                           headers={"Content-Type": "application/octet-stream"})

    # -- published prompt flows -----------------------------------------------------------------
    def publish_flow(self, body: BaseModel) -> FlowRead:
        """``POST /flows`` (a ``FlowPublish``): a new version of a flow from an uploaded snapshot; not retried once
        sent (a repeat would add another version)."""
        return self._model(FlowRead, "POST", "/flows", json_body=self._body(body))

    def list_flows(self, active_only: bool = True) -> list[FlowRead]:
        return self._model(FlowList, "GET", "/flows", params={"activeOnly": active_only}).Value

    def get_flow(self, name: str) -> FlowRead:
        return self._model(FlowRead, "GET", f"/flows/{seg(name)}")

    def set_flow_enabled(self, name: str, enabled: bool) -> FlowRead:
        action = "enable" if enabled else "disable"
        return self._model(FlowRead, "POST", f"/flows/{seg(name)}/{action}", idempotent=True)

    def set_flow_default(self, name: str, version: int) -> FlowRead:
        return self._model(FlowRead, "PUT", f"/flows/{seg(name)}/default-version", json_body={"Version": version})

    def score_flow(self, name: str, inputs: Mapping[str, Any], version: int | None = None) -> dict[str, Any]:
        """``POST /flows/{name}/score``: run the flow once; returns its outputs (never retried once sent)."""
        return self._json("POST", f"/flows/{seg(name)}/score", params={"version": version}, json_body=dict(inputs))

    def stream_flow(self, name: str, inputs: Mapping[str, Any], version: int | None = None) -> Iterator[dict[str, Any]]:
        """Score with ``Accept: text/event-stream``: yields the events' data (the non-streamed outputs first,
        then ``{output: chunk}`` per chunk); an error event raises as ``score_flow`` would."""
        path = f"/flows/{seg(name)}/score"
        query = {"version": version} if version is not None else {}
        try:
            with self._http.stream("POST", path, params=query, json=dict(inputs),
                                   headers={"Accept": "text/event-stream"}) as response:
                if response.status_code >= 400:
                    response.read()
                    raise self._error(response, "POST", path)
                event = ""
                for line in response.iter_lines():
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:"):
                        data = json.loads(line[5:])
                        if event == "error":
                            raise error_from_response(500, data, self.url, f"POST {API}{path}")
                        yield data
                    elif not line:
                        event = ""
        except httpx.TransportError as exc:
            raise self._unavailable("POST", path, exc) from exc

