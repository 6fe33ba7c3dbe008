"""The data behind the UI's pages, read through the services (no HTML here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from headrace.services.bundle import Services
from headrace.storage.records import EntityStatus, RunRecord


@dataclass
class EndpointRow:
    """One line of the "Pipeline endpoints" list: a versioned endpoint or a published pipeline."""

    kind: str  # "endpoint" or "pipeline"
    id: str
    name: str
    description: str
    status: str
    versions: str
    default_version: str
    schedules: int
    last_run: RunRecord | None
    created_at: datetime


def _last_run(svc: Services, **filters: str) -> RunRecord | None:
    page, _ = svc.store.list_runs(limit=1, **filters)
    return page[0] if page else None


def endpoint_rows(svc: Services, *, status: str = "active", query: str = "") -> list[EndpointRow]:
    """Endpoints first, then published pipelines; filtered by status ("active", "disabled", "all")
    and by a case-insensitive name search."""
    rows: list[EndpointRow] = []
    for ep in svc.store.list_pipeline_endpoints(active_only=False):
        versions = ", ".join(v.version for v in ep.versions)
        rows.append(EndpointRow(
            "endpoint", ep.id, ep.name, ep.description or "", ep.status.value, versions, ep.default_version,
            len(svc.store.list_schedules(pipeline_endpoint_id=ep.id)), _last_run(svc, pipeline_endpoint_id=ep.id),
            ep.created_at))
    for pp in svc.store.list_published_pipelines(active_only=False):
        rows.append(EndpointRow(
            "pipeline", pp.id, pp.name, pp.description or "", pp.status.value, pp.version or "–", "–",
            len(svc.store.list_schedules(published_pipeline_id=pp.id)), _last_run(svc, published_pipeline_id=pp.id),
            pp.created_at))
    wanted = {"active": {EntityStatus.ACTIVE.value}, "disabled": {EntityStatus.DISABLED.value}}.get(
        status, {EntityStatus.ACTIVE.value, EntityStatus.DISABLED.value})
    needle = query.strip().lower()
    return [r for r in rows if r.status in wanted and needle in r.name.lower()]
