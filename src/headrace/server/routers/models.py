"""The model registry (``Model`` in the remote SDK): versions, their files, stages with history, aliases.

Roles (``services.policy``): a reader reads; a submitter uploads blobs, registers versions and adds tags and
properties; an admin moves versions between stages, sets and deletes aliases, and deletes versions.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from headrace.core.model import ModelFile
from headrace.errors import NotFoundError
from headrace.schemas.models import (
    AliasList,
    AliasRead,
    AliasSet,
    BlobList,
    BlobQuery,
    BlobRead,
    ModelCreate,
    ModelFromRun,
    ModelList,
    ModelRead,
    ModelUpdate,
    StageChangeList,
    StageChangeRead,
    StageTransition,
    TransitionRead,
)
from headrace.server.deps import (
    RAW_BODY_DOC,
    Caller,
    DeleteModel,
    PromoteModel,
    RawBody,
    Reader,
    RegisterModel,
    ServicesDep,
    body_doc,
    json_body,
)
from headrace.services import model_files, models
from headrace.services.bundle import Services
from headrace.storage.model_records import ModelAliasRecord, ModelRecord, StageChangeRecord

router = APIRouter(prefix="/models", tags=["models"])
BYTES = {200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}


def _actor(caller: Caller) -> str | None:
    return f"token:{caller.name}" if caller is not None else "anonymous"


def read(r: ModelRecord, aliases: list[str] | None = None) -> ModelRead:
    return ModelRead(Id=r.id, Name=r.name, Version=r.version, Root=r.root, FileCount=r.file_count,
                     TotalBytes=r.total_bytes, Files=r.files, Description=r.description, Tags=r.tags,
                     Properties=r.properties, Framework=r.framework, FrameworkVersion=r.framework_version,
                     Datasets=r.datasets, RunId=r.run_id, StepName=r.step_name, ExperimentName=r.experiment_name,
                     Source=r.source, CreatedBy=r.created_by, CreatedTime=r.created_at, Stage=r.stage,
                     StageChangedTime=r.stage_changed_at, Aliases=aliases or [])


def _full(svc: Services, r: ModelRecord) -> ModelRead:
    return read(r, models.aliases_of(svc, r))


def change(c: StageChangeRecord) -> StageChangeRead:
    return StageChangeRead(Name=c.name, Version=c.version, FromStage=c.from_stage, ToStage=c.to_stage,
                           ChangedBy=c.changed_by, ChangedTime=c.changed_at, Comment=c.comment)


def _alias(a: ModelAliasRecord) -> AliasRead:
    return AliasRead(Name=a.name, Alias=a.alias, Version=a.version, SetBy=a.set_by, SetTime=a.set_at)


def _details(body: ModelCreate | ModelFromRun, svc: Services) -> dict:
    return {"tags": body.Tags, "properties": body.Properties, "description": body.Description,
            "framework": body.Framework, "framework_version": body.FrameworkVersion,
            "datasets": models.dataset_refs(svc, [(d.Scenario, d.Id) for d in body.Datasets])}


# -- blobs (before /{name} routes) ---------------------------------------------------------------------
@router.post("/blobs/missing", response_model=BlobList, openapi_extra=body_doc(BlobQuery))
def missing_blobs(_: RegisterModel, svc: ServicesDep,
                  body: Annotated[BlobQuery, Depends(json_body(BlobQuery))]) -> BlobList:
    """Which of these contents are not stored yet (upload only those)."""
    return BlobList(Missing=[s for s in dict.fromkeys(body.Sha256) if not model_files.has_blob(svc, s)])


@router.put("/blobs/{sha256}", response_model=BlobRead, openapi_extra=RAW_BODY_DOC)
def put_blob(sha256: str, _: RegisterModel, svc: ServicesDep, data: RawBody) -> BlobRead:
    """Store one content; the body must hash to ``sha256`` (400 otherwise). Repeating it is harmless."""
    model_files.blob_path(sha256)
    return BlobRead(Sha256=model_files.put_blob_bytes(svc, data, sha256), Size=len(data))


# -- versions ------------------------------------------------------------------------------------------
@router.get("", response_model=ModelList)
def list_models(_: Reader, svc: ServicesDep, name: str | None = None, latest: bool = False,
                run_id: str | None = None, tag: str | None = None, property: str | None = None) -> ModelList:  # noqa: A002
    """Versions by name then version; ``latest`` keeps each name's highest; ``tag``/``property`` keep those
    having the key (``key``) or the value (``key=value``)."""
    def wanted(item: str | None) -> list | None:
        return None if item is None else [item.split("=", 1) if "=" in item else item]

    found = models.list_versions(svc, name, tags=wanted(tag), properties=wanted(property), latest=latest,
                                 run_id=run_id)
    return ModelList(Value=[read(r) for r in found])


@router.post("", response_model=ModelRead, status_code=201, openapi_extra=body_doc(ModelCreate))
def register_model(caller: RegisterModel, svc: ServicesDep,
                   body: Annotated[ModelCreate, Depends(json_body(ModelCreate))]) -> ModelRead:
    """A new version of ``Name`` made of uploaded blobs (400 naming a file whose blob is missing)."""
    files = [ModelFile(f.Path, f.Size, f.Sha256) for f in body.Files]
    return read(models.record_version(svc, name=body.Name, root=body.Root, files=files, actor=_actor(caller),
                                      source="upload", **_details(body, svc)))


@router.post("/from-run", response_model=ModelRead, status_code=201, openapi_extra=body_doc(ModelFromRun))
def register_from_run(caller: RegisterModel, svc: ServicesDep,
                      body: Annotated[ModelFromRun, Depends(json_body(ModelFromRun))]) -> ModelRead:
    """A new version from a run's files (400 listing the run's files when ``ModelPath`` names none)."""
    return read(models.register_from_run(svc, body.RunId, body.ModelPath, body.Name, actor=_actor(caller),
                                         step_name=body.StepName, **_details(body, svc)))


@router.get("/{name}", response_model=ModelRead)
def get_model(name: str, _: Reader, svc: ServicesDep, version: str | None = None,
              alias: str | None = None) -> ModelRead:
    """The latest version, or ``version``, or the version ``alias`` points at."""
    return _full(svc, models.get(svc, name, version, alias=alias))


@router.get("/{name}/versions/{version}", response_model=ModelRead)
def get_version(name: str, version: int, _: Reader, svc: ServicesDep) -> ModelRead:
    return _full(svc, models.get(svc, name, version))


@router.patch("/{name}/versions/{version}", response_model=ModelRead, openapi_extra=body_doc(ModelUpdate))
def update_version(name: str, version: int, _: RegisterModel, svc: ServicesDep,
                   body: Annotated[ModelUpdate, Depends(json_body(ModelUpdate))]) -> ModelRead:
    """Add or remove tags, add properties (changing one is a 400), change the description."""
    return _full(svc, models.update(svc, name, version, add_tags=body.AddTags, remove_tags=body.RemoveTags,
                                    add_properties=body.AddProperties, description=body.Description))


@router.delete("/{name}/versions/{version}", status_code=204)
def delete_version(name: str, version: int, _: DeleteModel, svc: ServicesDep) -> Response:
    models.delete(svc, name, version)
    return Response(status_code=204)


@router.get("/{name}/versions/{version}/files/{path:path}", response_class=Response, responses=BYTES)
def read_file(name: str, version: int, path: str, _: Reader, svc: ServicesDep) -> Response:
    """One file of a version, by its path (which starts with the version's root)."""
    record = models.get(svc, name, version)
    for f in models.files_of(record):
        if f.path == path:
            return Response(model_files.read_blob(svc, f.sha256), media_type="application/octet-stream")
    raise NotFoundError("model file", path, f"files of {record.id}: {', '.join(f['path'] for f in record.files[:20])}")


@router.post("/{name}/versions/{version}/stage", response_model=TransitionRead,
             openapi_extra=body_doc(StageTransition))
def transition(name: str, version: int, caller: PromoteModel, svc: ServicesDep,
               body: Annotated[StageTransition, Depends(json_body(StageTransition))]) -> TransitionRead:
    """Move a version to a stage (400 listing the stages for another); every change is kept in the history."""
    record, changes = models.transition_stage(svc, name, version, body.Stage, actor=_actor(caller),
                                              comment=body.Comment, archive_existing=body.ArchiveExisting)
    return TransitionRead(Model=_full(svc, record), Changes=[change(c) for c in changes])


@router.get("/{name}/history", response_model=StageChangeList)
def history(name: str, _: Reader, svc: ServicesDep, version: int | None = None) -> StageChangeList:
    """Stage changes of a model (or one version), oldest first: who, when, from, to, comment."""
    models.get(svc, name, version)
    return StageChangeList(Value=[change(c) for c in svc.store.list_model_stage_changes(name, version)])


@router.get("/{name}/aliases", response_model=AliasList)
def list_aliases(name: str, _: Reader, svc: ServicesDep) -> AliasList:
    return AliasList(Value=[_alias(a) for a in svc.store.list_model_aliases(name)])


@router.put("/{name}/aliases/{alias}", response_model=AliasRead, openapi_extra=body_doc(AliasSet))
def set_alias(name: str, alias: str, caller: PromoteModel, svc: ServicesDep,
              body: Annotated[AliasSet, Depends(json_body(AliasSet))]) -> AliasRead:
    return _alias(models.set_alias(svc, name, alias, body.Version, actor=_actor(caller)))


@router.delete("/{name}/aliases/{alias}", status_code=204)
def delete_alias(name: str, alias: str, _: PromoteModel, svc: ServicesDep) -> Response:
    models.delete_alias(svc, name, alias)
    return Response(status_code=204)
