"""Datastores and their files, for the remote SDK (``Datastore.upload``, ``download``, ``list``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from headrace.errors import AlreadyExistsError
from headrace.schemas.datastores import (
    CloudDatastoreCreate,
    DatastoreCreate,
    DatastoreList,
    DatastoreRead,
    FileList,
    FileRead,
)
from headrace.server import convert
from headrace.server.deps import (
    RAW_BODY_DOC,
    ManageDatastores,
    RawBody,
    Reader,
    ServicesDep,
    UploadFile,
    body_doc,
    json_body,
)
from headrace.server.errors import ForbiddenError
from headrace.services import cloud_datastores, datastores, policy
from headrace.services.policy import Action

router = APIRouter(prefix="/datastores", tags=["datastores"])
BYTES = {200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
               "description": "The file's bytes."}}


@router.get("", response_model=DatastoreList)
def list_datastores(_: Reader, svc: ServicesDep) -> DatastoreList:
    default = datastores.default_datastore_name(svc)
    return DatastoreList(Value=[convert.datastore_read(r, default) for r in datastores.list_datastores(svc)])


@router.get("/{name}", response_model=DatastoreRead)
def get_datastore(name: str, _: Reader, svc: ServicesDep) -> DatastoreRead:
    return convert.datastore_read(svc.store.get_datastore(name), datastores.default_datastore_name(svc))


@router.put("/{name}/default", response_model=DatastoreRead)
def set_default_datastore(name: str, _: ManageDatastores, svc: ServicesDep) -> DatastoreRead:
    """Make this datastore the workspace's default (``ws.set_default_datastore``)."""
    return convert.datastore_read(datastores.set_default_datastore(svc, name), name)


@router.post("", response_model=DatastoreRead, openapi_extra=body_doc(DatastoreCreate))
def register_datastore(
    _: ManageDatastores, svc: ServicesDep, body: Annotated[DatastoreCreate, Depends(json_body(DatastoreCreate))]
) -> DatastoreRead:
    """Register a folder of the server's machine as a datastore (``Datastore.register_local``)."""
    return convert.datastore_read(datastores.register_local(svc, body.Name, body.Path))


@router.post("/cloud", response_model=DatastoreRead, status_code=201, openapi_extra=body_doc(CloudDatastoreCreate))
def register_cloud_datastore(
    _: ManageDatastores, svc: ServicesDep,
    body: Annotated[CloudDatastoreCreate, Depends(json_body(CloudDatastoreCreate))],
) -> DatastoreRead:
    """Register an Azure Blob container, ADLS Gen2 file system or S3 bucket, after reaching it once."""
    record = cloud_datastores.register(svc, body.Name, body.Kind, body.Fields, overwrite=body.Overwrite,
                                       create_if_not_exists=body.CreateIfNotExists)
    return convert.datastore_read(record)


@router.delete("/{name}", status_code=204)
def unregister_datastore(name: str, _: ManageDatastores, svc: ServicesDep) -> Response:
    """Remove a registration (the files stay; the default datastore cannot be unregistered)."""
    cloud_datastores.unregister(svc, name)
    return Response(status_code=204)


@router.get("/{name}/files", response_model=FileList)
def list_files(
    name: str, _: Reader, svc: ServicesDep, prefix: Annotated[str, Query(max_length=1024)] = "",
    recursive: bool = True,
) -> FileList:
    """Files under ``prefix`` (direct children only with ``recursive=false``), sorted by path."""
    return FileList(Value=[convert.file_read(f) for f in datastores.list_files(svc, name, prefix, recursive)])


@router.get("/{name}/files/{path:path}", response_class=Response, responses=BYTES)
def read_file(name: str, path: str, _: Reader, svc: ServicesDep) -> Response:
    return Response(datastores.read_file(svc, name, path), media_type="application/octet-stream")


@router.put("/{name}/files/{path:path}", response_model=FileRead, openapi_extra=RAW_BODY_DOC)
def write_file(name: str, path: str, caller: UploadFile, svc: ServicesDep, data: RawBody, overwrite: bool = False) -> FileRead:
    """Write the raw body to ``path`` (409 when a file is there and ``overwrite`` is false).

    Replacing an existing file needs the role of ``Action.REPLACE_FILE`` (403 otherwise).
    """
    may_replace = caller is None or policy.allows(caller.role, Action.REPLACE_FILE)
    try:
        size = datastores.write_file(svc, name, path, data, overwrite and may_replace)
    except AlreadyExistsError:
        if overwrite and caller is not None and not may_replace:
            raise ForbiddenError(policy.refusal(caller.role, Action.REPLACE_FILE, caller.name)) from None
        raise
    return FileRead(Path=path, Size=size)
