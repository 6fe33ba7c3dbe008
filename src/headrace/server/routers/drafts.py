"""Pipeline drafts: stored, unpublished graphs that are edited, run and published (Azure ML's ``PipelineDraft``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from headrace.schemas import PublishedPipelineRead, RunRead
from headrace.schemas.drafts import (
    PipelineDraftCreate,
    PipelineDraftList,
    PipelineDraftRead,
    PipelineDraftUpdate,
)
from headrace.server import convert
from headrace.server.deps import BaseUrl, EditDraft, Publish, Reader, ServicesDep, body_doc, json_body
from headrace.server.errors import BadRequestError
from headrace.services import drafts

router = APIRouter(prefix="/pipeline-drafts", tags=["pipeline drafts"])
Read = PipelineDraftRead
Tags = Annotated[list[str] | None, Query(alias="tag", description="name=value; repeat to require several tags.")]


def _tags(pairs: list[str] | None) -> dict[str, str] | None:
    if not pairs:
        return None
    bad = [p for p in pairs if "=" not in p]
    if bad:
        raise BadRequestError(f"tag filter {bad[0]!r} must be name=value", target="tag")
    return dict(p.split("=", 1) for p in pairs)


@router.get("", response_model=PipelineDraftList)
def list_drafts(_: Reader, svc: ServicesDep, tag: Tags = None) -> PipelineDraftList:
    """Drafts, newest first; ``tag=name=value`` keeps those with every given tag."""
    return PipelineDraftList(Value=[convert.draft_read(d) for d in svc.store.list_pipeline_drafts(tags=_tags(tag))])


@router.get("/{draft_id}", response_model=Read)
def get_draft(draft_id: str, _: Reader, svc: ServicesDep) -> Read:
    return convert.draft_read(svc.store.get_pipeline_draft(draft_id))


@router.post("", response_model=Read, openapi_extra=body_doc(PipelineDraftCreate))
def create_draft(
    _: EditDraft, svc: ServicesDep, body: Annotated[PipelineDraftCreate, Depends(json_body(PipelineDraftCreate))],
) -> Read:
    """A draft of a stored graph (``GraphId`` + ``Name`` + ``ExperimentName``), or a clone of a published
    pipeline (``PipelineId``), a run (``RunId``) or a draft (``DraftId``)."""
    if body.GraphId is None:
        record = drafts.clone_draft(svc, published_pipeline_id=body.PipelineId, run_id=body.RunId,
                                    draft_id=body.DraftId)
        return convert.draft_read(record)
    if body.Name is None or body.ExperimentName is None:
        raise BadRequestError("a draft of a graph needs a Name and an ExperimentName",
                              target="Name" if body.Name is None else "ExperimentName")
    record = drafts.create_draft(
        svc, pipeline_id=body.GraphId, name=body.Name, experiment_name=body.ExperimentName,
        description=body.Description, continue_on_step_failure=body.ContinueRunOnStepFailure, tags=body.Tags,
        properties=body.Properties,
        pipeline_parameters=convert.parameter_values(body.ParameterAssignments, body.DataPathAssignments))
    return convert.draft_read(record)


@router.patch("/{draft_id}", response_model=Read, openapi_extra=body_doc(PipelineDraftUpdate))
def update_draft(
    draft_id: str, _: EditDraft, svc: ServicesDep,
    body: Annotated[PipelineDraftUpdate, Depends(json_body(PipelineDraftUpdate))],
) -> Read:
    """Change the fields given; parameter assignments, when given, replace them all."""
    given = body.ParameterAssignments is not None or body.DataPathAssignments is not None
    record = drafts.update_draft(
        svc, draft_id, pipeline_id=body.GraphId, name=body.Name, description=body.Description,
        experiment_name=body.ExperimentName, tags=body.Tags, continue_on_step_failure=body.ContinueRunOnStepFailure,
        pipeline_parameters=convert.parameter_values(body.ParameterAssignments, body.DataPathAssignments)
        if given else None)
    return convert.draft_read(record)


@router.delete("/{draft_id}", status_code=204, response_class=Response,
               responses={204: {"description": "Deleted (its graph and runs stay)."}})
def delete_draft(draft_id: str, _: EditDraft, svc: ServicesDep) -> Response:
    drafts.delete_draft(svc, draft_id)
    return Response(status_code=204)


@router.post("/{draft_id}/submit", response_model=RunRead)
def submit_draft(draft_id: str, _: EditDraft, svc: ServicesDep) -> RunRead:
    """Queue a run of the draft (its experiment, parameter values and settings)."""
    return convert.run_read(drafts.submit_draft(svc, draft_id))


@router.post("/{draft_id}/publish", response_model=PublishedPipelineRead)
def publish_draft(draft_id: str, _: Publish, svc: ServicesDep, base: BaseUrl) -> PublishedPipelineRead:
    """Publish the draft's graph under its name."""
    record = drafts.publish_draft(svc, draft_id)
    return convert.published_read(record, svc.store.get_pipeline(record.pipeline_id).graph, base)
