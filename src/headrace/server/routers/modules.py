"""Modules and their versions (Azure ML's ``Module`` / ``ModuleVersion``): scripts published once, with their
source snapshot uploaded first, and run by ``ModuleStep``. Reading needs a reader; everything else an admin
(publishing, as for pipelines)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from headrace.schemas.modules import (
    ModuleCreate,
    ModuleList,
    ModuleRead,
    ModuleUpdate,
    ModuleVersionCreate,
    ModuleVersionList,
    ModuleVersionRead,
    ModuleVersionUpdate,
)
from headrace.server.deps import ChangePublished, Publish, Reader, ServicesDep, body_doc, json_body
from headrace.services import modules
from headrace.storage.module_records import ModuleRecord, ModuleVersionRecord

router = APIRouter(prefix="/modules", tags=["modules"])


def module_read(r: ModuleRecord) -> ModuleRead:
    return ModuleRead(Id=r.id, Name=r.name, Description=r.description, Status=r.status,
                      DefaultVersion=r.default_version, CreatedTime=r.created_at, UpdatedTime=r.updated_at)


def version_read(r: ModuleVersionRecord) -> ModuleVersionRead:
    return ModuleVersionRead(ModuleId=r.module_id, Version=r.version, ScriptName=r.script_name,
                             SnapshotDigest=r.snapshot, Description=r.description, Interface=r.interface,
                             SourceDirectory=r.source_directory, Status=r.status, CreatedTime=r.created_at,
                             UpdatedTime=r.updated_at)


@router.get("", response_model=ModuleList)
def list_modules(_: Reader, svc: ServicesDep) -> ModuleList:
    """Modules, newest first."""
    return ModuleList(Value=[module_read(m) for m in svc.store.list_modules()])


@router.post("", response_model=ModuleRead, openapi_extra=body_doc(ModuleCreate))
def create_module(_: Publish, svc: ServicesDep,
                  body: Annotated[ModuleCreate, Depends(json_body(ModuleCreate))]) -> ModuleRead:
    """A new module (its name is unique)."""
    return module_read(modules.create_module(svc, body.Name, body.Description))


@router.get("/by-name/{name}", response_model=ModuleRead)
def get_module_by_name(name: str, _: Reader, svc: ServicesDep) -> ModuleRead:
    return module_read(modules.get_module(svc, name=name))


@router.get("/{module_id}", response_model=ModuleRead)
def get_module(module_id: str, _: Reader, svc: ServicesDep) -> ModuleRead:
    return module_read(modules.get_module(svc, module_id=module_id))


@router.patch("/{module_id}", response_model=ModuleRead, openapi_extra=body_doc(ModuleUpdate))
def update_module(module_id: str, _: ChangePublished, svc: ServicesDep,
                  body: Annotated[ModuleUpdate, Depends(json_body(ModuleUpdate))]) -> ModuleRead:
    """Change the name, description, status or default version given."""
    return module_read(modules.update_module(svc, module_id, name=body.Name, description=body.Description,
                                             status=body.Status, default_version=body.DefaultVersion))


@router.get("/{module_id}/versions", response_model=ModuleVersionList)
def list_versions(module_id: str, _: Reader, svc: ServicesDep) -> ModuleVersionList:
    """The module's versions, in the order they were published."""
    return ModuleVersionList(Value=[version_read(v) for v in svc.store.list_module_versions(module_id)])


@router.post("/{module_id}/versions", response_model=ModuleVersionRead, openapi_extra=body_doc(ModuleVersionCreate))
def publish_version(module_id: str, _: Publish, svc: ServicesDep,
                    body: Annotated[ModuleVersionCreate, Depends(json_body(ModuleVersionCreate))]) -> ModuleVersionRead:
    """A new version of the script ``ScriptName`` in the uploaded snapshot ``SnapshotDigest``."""
    record = modules.publish_version(
        svc, module_id, script_name=body.ScriptName, snapshot=body.SnapshotDigest, version=body.Version,
        description=body.Description, interface=body.Interface, source_directory=body.SourceDirectory,
        is_default=body.IsDefault)
    return version_read(record)


@router.get("/{module_id}/versions/{version}", response_model=ModuleVersionRead)
def get_version(module_id: str, version: str, _: Reader, svc: ServicesDep) -> ModuleVersionRead:
    return version_read(svc.store.get_module_version(module_id, version))


@router.patch("/{module_id}/versions/{version}", response_model=ModuleVersionRead,
              openapi_extra=body_doc(ModuleVersionUpdate))
def update_version(module_id: str, version: str, _: ChangePublished, svc: ServicesDep,
                   body: Annotated[ModuleVersionUpdate, Depends(json_body(ModuleVersionUpdate))]) -> ModuleVersionRead:
    """Change the description or status (Active, Deprecated, Disabled) given."""
    return version_read(modules.update_version(svc, module_id, version, description=body.Description,
                                               status=body.Status))
