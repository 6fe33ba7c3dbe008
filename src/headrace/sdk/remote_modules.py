"""The module calls of the remote backend: ``LocalModules``' names and arguments, over HTTP.

A version's source folder is snapshotted here and uploaded (``PUT /snapshots``) before the version is
stored, as a pipeline's folders are: the server never reads the client's disk.
"""

from __future__ import annotations

import os
from typing import Any

from headrace.client import HeadraceClient
from headrace.datastores.snapshots import store_snapshot
from headrace.errors import DefinitionError, HeadraceError, RemoteError
from headrace.schemas.modules import (
    ModuleCreate,
    ModuleRead,
    ModuleUpdate,
    ModuleVersionCreate,
    ModuleVersionRead,
    ModuleVersionUpdate,
)
from headrace.sdk.remote_datastore import SnapshotUploads
from headrace.storage.module_records import ModuleRecord, ModuleVersionRecord

__all__ = ["RemoteModules"]

_MODULE_KEYS = {"name": "Name", "description": "Description", "status": "Status", "default_version": "DefaultVersion"}


def _module(r: ModuleRead) -> ModuleRecord:
    return ModuleRecord(id=r.Id, name=r.Name, created_at=r.CreatedTime, updated_at=r.UpdatedTime,
                        description=r.Description, default_version=r.DefaultVersion, status=r.Status)


def _version(r: ModuleVersionRead) -> ModuleVersionRecord:
    return ModuleVersionRecord(module_id=r.ModuleId, version=r.Version, script_name=r.ScriptName,
                               snapshot=r.SnapshotDigest, created_at=r.CreatedTime, updated_at=r.UpdatedTime,
                               description=r.Description, interface=dict(r.Interface),
                               source_directory=r.SourceDirectory, status=r.Status)


class RemoteModules:
    """Mixed into ``RemoteBackend``: the module calls of ``LocalBackend``."""

    client: HeadraceClient

    def create_module(self, name: str, description: str | None) -> ModuleRecord:
        return _module(self.client.create_module(ModuleCreate(Name=name, Description=description)))

    def get_module(self, module_id: str | None = None, name: str | None = None) -> ModuleRecord:
        if module_id is not None:
            return _module(self.client.get_module(module_id))
        return _module(self.client.get_module_by_name(str(name)))

    def list_modules(self) -> list[ModuleRecord]:
        return [_module(m) for m in self.client.list_modules()]

    def update_module(self, module_id: str, **changes: Any) -> ModuleRecord:
        body = ModuleUpdate.model_validate({_MODULE_KEYS[k]: v for k, v in changes.items() if v is not None})
        return _module(self.client.update_module(module_id, body))

    def list_module_versions(self, module_id: str) -> list[ModuleVersionRecord]:
        return [_version(v) for v in self.client.list_module_versions(module_id)]

    def get_module_version(self, module_id: str, version: str) -> ModuleVersionRecord:
        return _version(self.client.get_module_version(module_id, version))

    def publish_module_version(self, module_id: str, source_directory: str, script_name: str, *,
                               version: str | None = None, description: str | None = None,
                               interface: dict[str, Any] | None = None, is_default: bool = False) -> ModuleVersionRecord:
        self.client.get_module(module_id)  # an unknown module fails before the folder is uploaded
        if not os.path.isfile(os.path.join(source_directory, script_name)):
            raise DefinitionError([f"script {script_name!r} not found in source_directory {source_directory!r}"])
        try:
            snapshot = store_snapshot(source_directory, SnapshotUploads(self.client))
        except RemoteError:
            raise
        except HeadraceError as exc:
            raise DefinitionError([f"cannot snapshot source_directory {source_directory!r}: {exc}"]) from exc
        body = ModuleVersionCreate(ScriptName=script_name, SnapshotDigest=snapshot, Version=version,
                                   Description=description, Interface=interface, SourceDirectory=source_directory,
                                   IsDefault=bool(is_default))
        return _version(self.client.create_module_version(module_id, body))

    def update_module_version(self, module_id: str, version: str, **changes: Any) -> ModuleVersionRecord:
        body = ModuleVersionUpdate(Description=changes.get("description"), Status=changes.get("status"))
        return _version(self.client.update_module_version(module_id, version, body))
