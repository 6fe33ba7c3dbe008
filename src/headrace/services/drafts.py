"""Pipeline drafts: a stored, unpublished graph with the settings of its next run, edited until it is
run (``submit_run``) or published (``publish``), as Azure ML's ``PipelineDraft``."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from headrace import clock
from headrace.errors import ConfigError
from headrace.services.bundle import Services
from headrace.services.parameters import resolve_parameters
from headrace.services.publishing import check_name, publish_graph
from headrace.services.runs import submit_frozen
from headrace.storage.draft_records import PipelineDraftRecord
from headrace.storage.records import PublishedPipelineRecord, RunRecord

DRAFT_PROPERTY = "headrace.pipelineDraftId"
"""Run property naming the draft a run was submitted from."""


def _overrides(svc: Services, pipeline_id: str, parameters: Mapping[str, Any] | None) -> dict[str, Any]:
    """The parameter values a draft keeps: those given, checked against the graph and converted to its types.

    Raises:
        ParameterError: a parameter the graph does not declare, or a value of the wrong type.
    """
    given = dict(parameters or {})
    resolved = resolve_parameters(svc, svc.store.get_pipeline(pipeline_id).graph["parameters"], given)
    return {name: resolved[name] for name in given}


def _text(kind: str, value: Any) -> str:
    check_name(kind, value)
    return value


def create_draft(
    svc: Services, *, pipeline_id: str, name: str, experiment_name: str, description: str | None = None,
    pipeline_parameters: Mapping[str, Any] | None = None, continue_on_step_failure: bool | None = None,
    tags: Mapping[str, str] | None = None, properties: Mapping[str, Any] | None = None,
    parents: Mapping[str, str | None] | None = None,
) -> PipelineDraftRecord:
    """Store a draft of the graph ``pipeline_id`` (stored by ``runs.freeze_pipeline`` or ``POST /graphs``).

    ``parents`` sets ``parent_pipeline_id`` / ``parent_run_id`` / ``parent_draft_id``.

    Raises:
        NotFoundError: unknown graph.
        ConfigError: an empty or too long name or experiment name.
        ParameterError: a parameter the graph does not declare, or a value of the wrong type.
    """
    now = clock.now()
    record = PipelineDraftRecord(
        id=uuid.uuid4().hex, name=_text("pipeline draft", name), experiment_name=_text("experiment", experiment_name),
        pipeline_id=pipeline_id, created_at=now, updated_at=now, description=description,
        parameters=_overrides(svc, pipeline_id, pipeline_parameters),
        continue_on_step_failure=continue_on_step_failure,
        tags={str(k): str(v) for k, v in (tags or {}).items()},
        properties={str(k): v for k, v in (properties or {}).items()}, **dict(parents or {}),
    )
    return svc.store.create_pipeline_draft(record)


def clone_draft(svc: Services, *, published_pipeline_id: str | None = None, run_id: str | None = None,
                draft_id: str | None = None) -> PipelineDraftRecord:
    """A new draft from a published pipeline, a run or another draft (exactly one), as Azure ML clones them:
    the graph, its name and settings; a run's parameter values and experiment.

    Raises:
        ConfigError: not exactly one source.
        NotFoundError: the source does not exist.
    """
    if sum(x is not None for x in (published_pipeline_id, run_id, draft_id)) != 1:
        raise ConfigError("a draft is cloned from exactly one of a published pipeline, a run or a draft")
    if published_pipeline_id is not None:
        pp = svc.store.get_published_pipeline(published_pipeline_id)
        return create_draft(svc, pipeline_id=pp.pipeline_id, name=pp.name, experiment_name=pp.name,
                            description=pp.description, continue_on_step_failure=pp.continue_on_step_failure,
                            parents={"parent_pipeline_id": pp.id})
    if run_id is not None:
        run = svc.store.get_run(run_id)
        return create_draft(svc, pipeline_id=run.pipeline_id, name=run.experiment_name,
                            experiment_name=run.experiment_name, description=run.description,
                            pipeline_parameters=run.parameters, continue_on_step_failure=run.continue_on_step_failure,
                            tags=run.tags, parents={"parent_run_id": run.id})
    source = svc.store.get_pipeline_draft(draft_id)  # type: ignore[arg-type]
    return create_draft(svc, pipeline_id=source.pipeline_id, name=source.name, experiment_name=source.experiment_name,
                        description=source.description, pipeline_parameters=source.parameters,
                        continue_on_step_failure=source.continue_on_step_failure, tags=source.tags,
                        properties=source.properties, parents={"parent_draft_id": source.id})


def update_draft(svc: Services, draft_id: str, *, pipeline_id: str | None = None, name: str | None = None,
                 description: str | None = None, experiment_name: str | None = None,
                 tags: Mapping[str, str] | None = None, pipeline_parameters: Mapping[str, Any] | None = None,
                 continue_on_step_failure: bool | None = None) -> PipelineDraftRecord:
    """Change what is given (None keeps a value); ``pipeline_parameters`` replaces them all.

    The draft's parameter values are checked against its (new) graph.

    Raises:
        NotFoundError: no such draft or graph.
        ParameterError: a value the graph does not declare or that does not fit its type.
    """
    current = svc.store.get_pipeline_draft(draft_id)
    graph = pipeline_id or current.pipeline_id
    params = current.parameters if pipeline_parameters is None else pipeline_parameters
    changes: dict[str, Any] = {"parameters": _overrides(svc, graph, params), "updated_at": clock.now()}
    if pipeline_id is not None:
        changes["pipeline_id"] = pipeline_id
    if name is not None:
        changes["name"] = _text("pipeline draft", name)
    if experiment_name is not None:
        changes["experiment_name"] = _text("experiment", experiment_name)
    if description is not None:
        changes["description"] = description
    if tags is not None:
        changes["tags"] = {str(k): str(v) for k, v in tags.items()}
    if continue_on_step_failure is not None:
        changes["continue_on_step_failure"] = bool(continue_on_step_failure)
    return svc.store.update_pipeline_draft(draft_id, **changes)


def submit_draft(svc: Services, draft_id: str) -> RunRecord:
    """Queue a run of the draft's graph with its experiment, parameter values and settings; the draft
    remembers it (``last_submitted_run_id``) and the run names the draft (property ``headrace.pipelineDraftId``)."""
    d = svc.store.get_pipeline_draft(draft_id)
    run = submit_frozen(svc, svc.store.get_pipeline(d.pipeline_id), d.experiment_name,
                        pipeline_parameters=d.parameters, continue_on_step_failure=bool(d.continue_on_step_failure),
                        tags=d.tags, description=d.description, properties={DRAFT_PROPERTY: d.id})
    svc.store.update_pipeline_draft(draft_id, last_submitted_run_id=run.id, updated_at=clock.now())
    return run


def publish_draft(svc: Services, draft_id: str) -> PublishedPipelineRecord:
    """Publish the draft's graph under the draft's name, description and step-failure setting."""
    d = svc.store.get_pipeline_draft(draft_id)
    return publish_graph(svc, d.pipeline_id, name=d.name, description=d.description,
                         continue_on_step_failure=d.continue_on_step_failure)


def delete_draft(svc: Services, draft_id: str) -> None:
    """Delete the draft; its graph, its runs and what was published from it stay."""
    svc.store.delete_pipeline_draft(draft_id)
