"""Published pipelines: a frozen graph under an id, triggered by anyone with the right token."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from headrace import clock
from headrace.errors import ConfigError, ConflictError, DisabledError
from headrace.services.bundle import Services
from headrace.services.runs import freeze_pipeline, submit_frozen
from headrace.storage.records import EntityStatus, PublishedPipelineRecord, RunRecord

MAX_NAME = 255


def publish_pipeline(svc: Services, pipeline: Any, **options: Any) -> PublishedPipelineRecord:
    """Freeze ``pipeline`` (validation, snapshots) and publish it under a new id; options as for
    ``publish_graph`` (name, description, version, continue_on_step_failure).

    Raises:
        DefinitionError: the pipeline is invalid.
        ConfigError: an empty or too long name.
    """
    return publish_graph(svc, freeze_pipeline(svc, pipeline).id, **options)


def publish_run(svc: Services, run_id: str, **options: Any) -> PublishedPipelineRecord:
    """Publish the graph an existing run executed (``PipelineRun.publish_pipeline``); options as above."""
    run = svc.store.get_run(run_id)
    return _create(svc, run.pipeline_id, source_run_id=run.id, **options)


def publish_graph(
    svc: Services,
    pipeline_id: str,
    *,
    name: str,
    description: str | None = None,
    version: str | None = None,
    continue_on_step_failure: bool | None = None,
) -> PublishedPipelineRecord:
    """Publish a graph already stored (by a remote SDK through ``graphs.store_remote_graph``).

    Raises:
        NotFoundError: no graph with this id.
        ConfigError: an empty or too long name.
    """
    svc.store.get_pipeline(pipeline_id)
    return _create(svc, pipeline_id, name=name, description=description, version=version,
                   continue_on_step_failure=continue_on_step_failure)


def _create(svc: Services, pipeline_id: str, *, name: str, description: str | None = None,
            version: str | None = None, continue_on_step_failure: bool | None = None,
            source_run_id: str | None = None) -> PublishedPipelineRecord:
    check_name("published pipeline", name)
    now = clock.now()
    record = PublishedPipelineRecord(
        id=uuid.uuid4().hex, name=name, pipeline_id=pipeline_id, status=EntityStatus.ACTIVE,
        created_at=now, updated_at=now, description=description,
        version=None if version is None else str(version),
        continue_on_step_failure=continue_on_step_failure, source_run_id=source_run_id,
    )
    return svc.store.create_published_pipeline(record)


def check_name(kind: str, name: Any) -> None:
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise ConfigError(f"invalid {kind} name {name!r}: give a non-empty name of at most {MAX_NAME} characters")


def set_status(svc: Services, published_id: str, status: EntityStatus) -> PublishedPipelineRecord:
    """Enable or disable a published pipeline (there is no delete: disabling hides it).

    Raises:
        ConflictError: disabling while active schedules point to it (they are named).
    """
    record = svc.store.get_published_pipeline(published_id)
    if status is EntityStatus.DISABLED:
        blockers = [check(published_id) for check in svc.disable_checks]
        names = [n for group in blockers for n in group]
        if names:
            raise ConflictError(
                f"published pipeline {record.name!r} ({published_id}) has active schedules: "
                f"{', '.join(names)}; disable them first"
            )
    if record.status is status:
        return record
    return svc.store.update_published_pipeline(published_id, status=status, updated_at=clock.now())


def interface(svc: Services, record: PublishedPipelineRecord) -> dict[str, dict[str, Any]]:
    """The parameter interface: name -> {type, default}."""
    return svc.store.get_pipeline(record.pipeline_id).graph["parameters"]


def submit_published(
    svc: Services,
    published_id: str,
    experiment_name: str,
    *,
    pipeline_parameters: Mapping[str, Any] | None = None,
    continue_on_step_failure: bool | None = None,
    tags: Mapping[str, str] | None = None,
    description: str | None = None,
    run_source: str = "SDK",
    idempotency_key: str | None = None,
    endpoint: tuple[str, str] | None = None,
    **extra: Any,
) -> tuple[RunRecord, bool]:
    """Queue a run of a published pipeline; returns (run, created).

    ``continue_on_step_failure`` None keeps the value set at publish time. ``endpoint`` is
    (endpoint id, version) when the run comes through a pipeline endpoint. ``extra`` goes to
    ``submit_frozen`` (``run_id``, ``properties``, ``schedule_fire``).

    Raises:
        ConflictError: the published pipeline is disabled.
        ParameterError: unknown parameter or wrong type.
    """
    record = svc.store.get_published_pipeline(published_id)
    if record.status is not EntityStatus.ACTIVE:
        raise DisabledError(
            f"published pipeline {record.name!r} ({published_id}) is disabled; enable it to submit runs"
        )
    if continue_on_step_failure is None:
        continue_on_step_failure = bool(record.continue_on_step_failure)
    return submit_frozen(
        svc, svc.store.get_pipeline(record.pipeline_id), experiment_name,
        pipeline_parameters=pipeline_parameters, continue_on_step_failure=continue_on_step_failure,
        tags=tags, description=description, run_source=run_source,
        published_pipeline_id=record.id,
        pipeline_endpoint_id=endpoint[0] if endpoint else None,
        pipeline_endpoint_version=endpoint[1] if endpoint else None,
        idempotency_key=idempotency_key, return_created=True, **extra,
    )
