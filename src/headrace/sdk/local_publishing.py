"""The publishing methods of the local backend: published pipelines, endpoints, drafts and schedules.

Mixed into ``LocalBackend`` (``remote_drafts`` and ``remote_schedules`` are their remote twins).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from headrace.services import drafts as draft_service
from headrace.services import endpoints as ep_service
from headrace.services import publishing as pub_service
from headrace.services import runs as run_service
from headrace.services import schedules as schedule_service
from headrace.storage.draft_records import PipelineDraftRecord
from headrace.storage.records import (
    EntityStatus,
    PipelineEndpointRecord,
    PublishedPipelineRecord,
    RunRecord,
    ScheduleRecord,
    ScheduleTickRecord,
)

__all__ = ["LocalPublishing"]


class LocalPublishing:
    """In-process: the publishing services over the local home."""

    svc: Any
    _submitted: list[str]
    ensure_agent: Callable[[], Any]

    # -- published pipelines and endpoints ------------------------------------------------
    def publish_pipeline(self, pipeline: Any, **options: Any) -> PublishedPipelineRecord:
        return pub_service.publish_pipeline(self.svc, pipeline, **options)

    def publish_run(self, run_id: str, **options: Any) -> PublishedPipelineRecord:
        return pub_service.publish_run(self.svc, run_id, **options)

    def get_published(self, published_id: str) -> PublishedPipelineRecord:
        return self.svc.store.get_published_pipeline(published_id)

    def list_published(self, active_only: bool = True) -> list[PublishedPipelineRecord]:
        return self.svc.store.list_published_pipelines(active_only=active_only)

    def set_published_status(self, published_id: str, status: EntityStatus) -> PublishedPipelineRecord:
        return pub_service.set_status(self.svc, published_id, status)

    def published_graph(self, published_id: str) -> dict[str, Any]:
        return self.svc.store.get_pipeline(self.get_published(published_id).pipeline_id).graph

    def submit_published(self, published_id: str, experiment_name: str, **options: Any) -> RunRecord:
        if self.svc.agent_in_process:
            self.ensure_agent()
        run, _ = pub_service.submit_published(self.svc, published_id, experiment_name, **options)
        self._submitted.append(run.id)
        return run

    def publish_endpoint(self, name: str, published_pipeline_id: str, description: str | None) -> PipelineEndpointRecord:
        return ep_service.publish_endpoint(self.svc, name=name, published_pipeline_id=published_pipeline_id,
                                           description=description)

    def get_endpoint(self, endpoint_id: str | None = None, name: str | None = None) -> PipelineEndpointRecord:
        return ep_service.get_endpoint(self.svc, endpoint_id, name)

    def list_endpoints(self, active_only: bool = True) -> list[PipelineEndpointRecord]:
        return self.svc.store.list_pipeline_endpoints(active_only=active_only)

    def add_endpoint_version(self, endpoint_id: str, published_id: str, make_default: bool) -> PipelineEndpointRecord:
        return ep_service.add_version(self.svc, endpoint_id, published_id, make_default=make_default)

    def set_endpoint_default(self, endpoint_id: str, version: str) -> PipelineEndpointRecord:
        return ep_service.set_default_version(self.svc, endpoint_id, version)

    def set_endpoint_status(self, endpoint_id: str, status: EntityStatus) -> PipelineEndpointRecord:
        return ep_service.set_status(self.svc, endpoint_id, status)

    def archive_endpoint(self, endpoint_id: str) -> PipelineEndpointRecord:
        return ep_service.archive(self.svc, endpoint_id)

    def rename_endpoint(self, endpoint_id: str, name: str) -> PipelineEndpointRecord:
        return ep_service.rename(self.svc, endpoint_id, name)

    def reactivate_endpoint(self, endpoint_id: str, name: str) -> PipelineEndpointRecord:
        return ep_service.reactivate(self.svc, endpoint_id, name)

    def submit_endpoint(self, endpoint_id: str, experiment_name: str, **options: Any) -> RunRecord:
        if self.svc.agent_in_process:
            self.ensure_agent()
        ep = ep_service.get_endpoint(self.svc, endpoint_id)
        run, _ = ep_service.submit_endpoint(self.svc, ep, experiment_name, **options)
        self._submitted.append(run.id)
        return run

    # -- pipeline drafts -------------------------------------------------------------------
    def create_draft(self, pipeline: Any, **options: Any) -> PipelineDraftRecord:
        graph = run_service.freeze_pipeline(self.svc, pipeline)
        return draft_service.create_draft(self.svc, pipeline_id=graph.id, **options)

    def clone_draft(self, **source: Any) -> PipelineDraftRecord:
        return draft_service.clone_draft(self.svc, **source)

    def get_draft(self, draft_id: str) -> PipelineDraftRecord:
        return self.svc.store.get_pipeline_draft(draft_id)

    def list_drafts(self, tags: dict[str, str] | None = None) -> list[PipelineDraftRecord]:
        return self.svc.store.list_pipeline_drafts(tags=tags)

    def update_draft(self, draft_id: str, pipeline: Any = None, **options: Any) -> PipelineDraftRecord:
        graph_id = None if pipeline is None else run_service.freeze_pipeline(self.svc, pipeline).id
        return draft_service.update_draft(self.svc, draft_id, pipeline_id=graph_id, **options)

    def submit_draft(self, draft_id: str) -> RunRecord:
        if self.svc.agent_in_process:
            self.ensure_agent()
        run = draft_service.submit_draft(self.svc, draft_id)
        self._submitted.append(run.id)
        return run

    def publish_draft(self, draft_id: str) -> PublishedPipelineRecord:
        return draft_service.publish_draft(self.svc, draft_id)

    def delete_draft(self, draft_id: str) -> None:
        draft_service.delete_draft(self.svc, draft_id)

    # -- schedules -------------------------------------------------------------------------
    def create_schedule(self, **fields: Any) -> ScheduleRecord:
        return schedule_service.create_schedule(self.svc, **fields)

    def get_schedule(self, schedule_id: str) -> ScheduleRecord:
        return self.svc.store.get_schedule(schedule_id)

    def list_schedules(self, **filters: Any) -> list[ScheduleRecord]:
        return schedule_service.list_schedules(self.svc, **filters)

    def update_schedule(self, schedule_id: str, **changes: Any) -> ScheduleRecord:
        return schedule_service.update_schedule(self.svc, schedule_id, **changes)

    def set_schedule_status(self, schedule_id: str, status: EntityStatus) -> ScheduleRecord:
        return schedule_service.set_status(self.svc, schedule_id, status)

    def delete_schedule(self, schedule_id: str) -> None:
        schedule_service.delete_schedule(self.svc, schedule_id)

    def schedule_runs(self, schedule_id: str, limit: int = 100) -> list[RunRecord]:
        self.svc.store.get_schedule(schedule_id)
        return self.svc.store.list_runs(schedule_id=schedule_id, limit=limit)[0]

    def schedule_ticks(self, schedule_id: str, limit: int = 100) -> list[ScheduleTickRecord]:
        self.svc.store.get_schedule(schedule_id)
        return self.svc.store.list_schedule_ticks(schedule_id, limit=limit)

    def endpoint_url(self, endpoint_id: str) -> str:
        return f"{self.base_url()}/api/v1/PipelineRuns/PipelineEndpointSubmit/Id/{endpoint_id}"

    def pipeline_url(self, published_id: str) -> str:
        return f"{self.base_url()}/api/v1/pipelines/{published_id}/submit"

    def base_url(self) -> str:
        """The server serving this home (``server_url`` in its config.json), else the default address."""
        import json

        config = self.home / "config.json"
        try:
            url = json.loads(config.read_text(encoding="utf-8")).get("server_url")
        except (OSError, ValueError):
            url = None
        return (url or "http://127.0.0.1:8765").rstrip("/")
