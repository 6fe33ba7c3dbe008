"""Pipeline endpoints: one stable id and name over numbered versions of published pipelines."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from headrace import clock
from headrace.errors import AlreadyExistsError, ConflictError, DisabledError, NotFoundError
from headrace.services.bundle import Services
from headrace.services.publishing import check_name, submit_published
from headrace.storage.records import (
    EndpointVersion,
    EntityStatus,
    PipelineEndpointRecord,
    RunRecord,
)


def publish_endpoint(
    svc: Services, *, name: str, published_pipeline_id: str, description: str | None = None
) -> PipelineEndpointRecord:
    """Create an endpoint whose version "0" (the default) is ``published_pipeline_id``.

    Raises:
        AlreadyExistsError: an endpoint already has this name (archive it to free the name).
        NotFoundError: unknown published pipeline.
    """
    check_name("pipeline endpoint", name)
    svc.store.get_published_pipeline(published_pipeline_id)
    now = clock.now()
    record = PipelineEndpointRecord(
        id=uuid.uuid4().hex, name=name, status=EntityStatus.ACTIVE, default_version="0",
        versions=(EndpointVersion("0", published_pipeline_id, now),), created_at=now, updated_at=now,
        description=description,
    )
    try:
        return svc.store.create_pipeline_endpoint(record)
    except AlreadyExistsError:
        raise AlreadyExistsError(
            "pipeline endpoint", name, "use PipelineEndpoint.get(...).add_default(...) to add a version, "
            "or archive() the existing endpoint to free the name") from None


def get_endpoint(svc: Services, endpoint_id: str | None = None, name: str | None = None) -> PipelineEndpointRecord:
    """By id, else by name.

    Raises:
        NotFoundError: no such endpoint.
    """
    if endpoint_id is None and name is None:
        raise NotFoundError("pipeline endpoint", "", "give an id or a name")
    return svc.store.get_pipeline_endpoint(endpoint_id, name=None if endpoint_id else name)


def add_version(svc: Services, endpoint_id: str, published_pipeline_id: str, *, make_default: bool) -> PipelineEndpointRecord:
    """Add a published pipeline as the next version ("max + 1"; numbers are never reused)."""
    svc.store.get_published_pipeline(published_pipeline_id)
    return svc.store.add_endpoint_version(endpoint_id, published_pipeline_id, make_default=make_default,
                                          added_at=clock.now())


def set_default_version(svc: Services, endpoint_id: str, version: str) -> PipelineEndpointRecord:
    """Make ``version`` the default.

    Raises:
        NotFoundError: no such version (the valid ones are listed).
    """
    ep = svc.store.get_pipeline_endpoint(endpoint_id)
    _version(ep, str(version))
    return svc.store.update_pipeline_endpoint(endpoint_id, default_version=str(version), updated_at=clock.now())


def set_status(svc: Services, endpoint_id: str, status: EntityStatus) -> PipelineEndpointRecord:
    """Enable or disable an endpoint.

    Raises:
        ConflictError: disabling while active schedules use it (they are named).
    """
    ep = svc.store.get_pipeline_endpoint(endpoint_id)
    if status is EntityStatus.DISABLED:
        names = [n for check in svc.endpoint_disable_checks for n in check(endpoint_id)]
        if names:
            raise ConflictError(
                f"pipeline endpoint {ep.name!r} has active schedules: {', '.join(names)}; disable them first"
            )
    if ep.status is status:
        return ep
    return svc.store.update_pipeline_endpoint(endpoint_id, status=status, updated_at=clock.now())


def rename(svc: Services, endpoint_id: str, name: str) -> PipelineEndpointRecord:
    """Give the endpoint a new name (``PipelineEndpoint.set_name``); its id and URL by id stay.

    Raises:
        AlreadyExistsError: another endpoint has this name.
        ConfigError: an empty or too long name.
    """
    check_name("pipeline endpoint", name)
    ep = svc.store.get_pipeline_endpoint(endpoint_id)
    if ep.name == name:
        return ep
    return svc.store.update_pipeline_endpoint(endpoint_id, name=name, updated_at=clock.now())


def reactivate(svc: Services, endpoint_id: str, name: str) -> PipelineEndpointRecord:
    """Enable an (archived) endpoint again under ``name``.

    Raises:
        AlreadyExistsError: another endpoint has this name.
    """
    ep = rename(svc, endpoint_id, name)
    return set_status(svc, ep.id, EntityStatus.ACTIVE)


def archive(svc: Services, endpoint_id: str) -> PipelineEndpointRecord:
    """Disable the endpoint and free its name (it is renamed ``<name>~archived~<id prefix>``)."""
    ep = set_status(svc, endpoint_id, EntityStatus.DISABLED)
    if "~archived~" in ep.name:
        return ep
    return svc.store.update_pipeline_endpoint(
        endpoint_id, name=f"{ep.name}~archived~{uuid.uuid4().hex[:8]}", updated_at=clock.now()
    )


def _version(ep: PipelineEndpointRecord, version: str | None) -> EndpointVersion:
    entry = ep.version(version)
    if entry is None:
        valid = ", ".join(v.version for v in ep.versions)
        raise NotFoundError("pipeline endpoint version", str(version),
                            f"versions of endpoint {ep.name!r}: {valid}")
    return entry


def submit_endpoint(
    svc: Services,
    ep: PipelineEndpointRecord,
    experiment_name: str,
    *,
    pipeline_version: str | None = None,
    pipeline_parameters: Mapping[str, Any] | None = None,
    **options: Any,
) -> tuple[RunRecord, bool]:
    """Queue a run of the endpoint's default version, or of ``pipeline_version``.

    Raises:
        ConflictError: the endpoint (or that version's published pipeline) is disabled.
        NotFoundError: no such version.
    """
    if ep.status is not EntityStatus.ACTIVE:
        raise DisabledError(f"pipeline endpoint {ep.name!r} ({ep.id}) is disabled; enable it to submit runs")
    entry = _version(ep, None if pipeline_version is None else str(pipeline_version))
    return submit_published(svc, entry.published_pipeline_id, experiment_name,
                            pipeline_parameters=pipeline_parameters, endpoint=(ep.id, entry.version), **options)
