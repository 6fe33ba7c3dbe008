"""Datasets: registered versions, their manifests (pinned files) and lineage (``Dataset`` in the remote SDK)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from headrace.core.dataset import ManifestEntry
from headrace.schemas.datasets import (
    DatasetCreate,
    DatasetDefinition,
    DatasetList,
    DatasetRead,
    DatasetUpdate,
    DatasetUseList,
    DatasetUseRead,
    ManifestFile,
    ManifestPage,
)
from headrace.server.deps import Reader, RegisterDataset, ServicesDep, UnregisterDataset, body_doc, json_body
from headrace.services import datasets
from headrace.storage.dataset_records import DatasetRecord

router = APIRouter(tags=["datasets"])
PAGE = 5000


def _read(r: DatasetRecord) -> DatasetRead:
    return DatasetRead(Id=r.id, Name=r.name, Version=r.version, Kind=r.kind, Definition=r.definition,
                       FileCount=r.file_count, TotalBytes=r.total_bytes, Description=r.description, Tags=r.tags,
                       CreatedTime=r.created_at, CreatedByRun=r.created_by_run)


def _page(entries: list[ManifestEntry], offset: int, limit: int) -> ManifestPage:
    chunk = entries[offset:offset + limit]
    more = offset + limit < len(entries)
    return ManifestPage(Value=[ManifestFile(Datastore=e.datastore, Path=e.path, Size=e.size, Version=e.version)
                               for e in chunk], ContinuationToken=str(offset + limit) if more else None)


@router.get("/datasets", response_model=DatasetList)
def list_datasets(_: Reader, svc: ServicesDep, all_versions: bool = False) -> DatasetList:
    """The latest version of every registered dataset (every version with ``all_versions=true``)."""
    return DatasetList(Value=[_read(r) for r in svc.store.list_datasets(all_versions=all_versions)])


@router.post("/datasets", response_model=DatasetRead, status_code=201, openapi_extra=body_doc(DatasetCreate))
def register_dataset(_: RegisterDataset, svc: ServicesDep,
                     body: Annotated[DatasetCreate, Depends(json_body(DatasetCreate))]) -> DatasetRead:
    """Register a version pinned to the files the definition matches now (409 when the name exists and
    ``CreateNewVersion`` is false)."""
    return _read(datasets.register(svc, body.Definition.plain(), name=body.Name, description=body.Description,
                                   tags=body.Tags, create_new_version=body.CreateNewVersion))


@router.post("/datasets/resolve", response_model=ManifestPage, openapi_extra=body_doc(DatasetDefinition))
def resolve_dataset(_: Reader, svc: ServicesDep,
                    body: Annotated[DatasetDefinition, Depends(json_body(DatasetDefinition))],
                    offset: Annotated[int, Query(ge=0)] = 0,
                    limit: Annotated[int, Query(ge=1, le=PAGE)] = PAGE) -> ManifestPage:
    """The files an (unregistered) definition matches now, a page at a time."""
    return _page(datasets.resolve(svc, body.plain()), offset, limit)


@router.post("/datasets/save", response_model=DatasetRead, openapi_extra=body_doc(DatasetDefinition))
def save_dataset(_: RegisterDataset, svc: ServicesDep,
                 body: Annotated[DatasetDefinition, Depends(json_body(DatasetDefinition))]) -> DatasetRead:
    """Save an unregistered definition as an unnamed version pinned to the files it matches now (what an
    unregistered dataset's ``id`` is); the same definition and files give the same id."""
    return _read(svc.store.get_dataset(datasets.pin(svc, {"definition": body.plain()})["id"]))


@router.get("/datasets/{name}", response_model=DatasetRead)
def get_dataset(name: str, _: Reader, svc: ServicesDep, version: str = "latest") -> DatasetRead:
    return _read(datasets.get_version(svc, name, version))


@router.delete("/datasets/{name}", status_code=204)
def unregister_dataset(name: str, _: UnregisterDataset, svc: ServicesDep) -> None:
    """Unregister every version of ``name``; versions used by runs stay readable by id."""
    svc.store.delete_dataset_name(name)


@router.get("/dataset-versions/{dataset_id}", response_model=DatasetRead)
def get_dataset_version(dataset_id: str, _: Reader, svc: ServicesDep) -> DatasetRead:
    return _read(svc.store.get_dataset(dataset_id))


@router.patch("/dataset-versions/{dataset_id}", response_model=DatasetRead, openapi_extra=body_doc(DatasetUpdate))
def update_dataset(dataset_id: str, _: RegisterDataset, svc: ServicesDep,
                   body: Annotated[DatasetUpdate, Depends(json_body(DatasetUpdate))]) -> DatasetRead:
    changes = {k: v for k, v in (("description", body.Description), ("tags", body.Tags)) if v is not None}
    return _read(svc.store.update_dataset(dataset_id, **changes))


@router.get("/dataset-versions/{dataset_id}/files", response_model=ManifestPage)
def dataset_files(dataset_id: str, _: Reader, svc: ServicesDep, verify: bool = True,
                  offset: Annotated[int, Query(ge=0)] = 0,
                  limit: Annotated[int, Query(ge=1, le=PAGE)] = PAGE) -> ManifestPage:
    """The version's pinned files, a page at a time; with ``verify`` (default) every file is first checked
    against its recorded version (409-free: a changed file answers 400 DatastoreError naming it)."""
    record = svc.store.get_dataset(dataset_id)
    entries = datasets.verified(svc, record) if verify else datasets.load_manifest(svc, record)
    return _page(entries, offset, limit)


@router.get("/dataset-versions/{dataset_id}/uses", response_model=DatasetUseList)
def dataset_uses(dataset_id: str, _: Reader, svc: ServicesDep) -> DatasetUseList:
    """Lineage: the runs (and steps) that read or produced this version."""
    svc.store.get_dataset(dataset_id)
    return DatasetUseList(Value=[DatasetUseRead(DatasetId=u.dataset_id, RunId=u.run_id, StepName=u.step_name,
                                                Role=u.role, CreatedTime=u.created_at)
                                 for u in svc.store.list_dataset_uses(dataset_id=dataset_id)])
