"""Modules: named families of script versions, each frozen at publish time (Azure ML v1's ``Module`` and
``ModuleVersion``); a ``ModuleStep`` runs one of them."""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from typing import Any

from headrace import clock
from headrace.core.module_ports import ACTIVE, STATUSES, ModuleInterface, interface_json
from headrace.datastores.snapshots import store_snapshot
from headrace.errors import AlreadyExistsError, ConfigError, DefinitionError, HeadraceError, NotFoundError
from headrace.services.bundle import Services
from headrace.services.graphs import has_snapshot
from headrace.services.publishing import check_name
from headrace.storage.module_records import ModuleRecord, ModuleVersionRecord


def create_module(svc: Services, name: str, description: str | None = None) -> ModuleRecord:
    """Raises: ConfigError (an empty or too long name), AlreadyExistsError (the name is taken)."""
    check_name("module", name)
    now = clock.now()
    try:
        return svc.store.create_module(ModuleRecord(uuid.uuid4().hex, name, now, now, description=description))
    except AlreadyExistsError as exc:
        if exc.key != name:
            raise
        raise AlreadyExistsError("module", name, f"use it with Module.get(workspace, name={name!r}), or publish "
                                 "a new version of it with module.publish_python_script(...)") from None


def get_module(svc: Services, module_id: str | None = None, name: str | None = None) -> ModuleRecord:
    """By id or by name. Raises: ConfigError (neither or both given), NotFoundError."""
    if (module_id is None) == (name is None):
        raise ConfigError("give a module's id or its name (one of them)")
    return svc.store.get_module(module_id) if module_id is not None else svc.store.get_module(name=name)


def _status(status: Any) -> str:
    if status not in STATUSES:
        raise ConfigError(f"invalid status {status!r}; one of {', '.join(STATUSES)}")
    return str(status)


def update_module(svc: Services, module_id: str, *, name: str | None = None, description: str | None = None,
                  status: str | None = None, default_version: str | None = None) -> ModuleRecord:
    """Change what is given (None keeps a value).

    Raises:
        NotFoundError: no such module, or a default version it does not have.
        AlreadyExistsError: a name another module has.
        ConfigError: an invalid name or status.
    """
    changes: dict[str, Any] = {"updated_at": clock.now()}
    if name is not None:
        check_name("module", name)
        changes["name"] = name
    if description is not None:
        changes["description"] = description
    if status is not None:
        changes["status"] = _status(status)
    if default_version is not None:
        changes["default_version"] = str(default_version)
    return svc.store.update_module(module_id, **changes)


def snapshot_source(svc: Services, source_directory: str, script_name: str) -> str:
    """Snapshot the folder holding a module version's script now; later edits of it do not change the version.

    Raises:
        DefinitionError: the folder or the script in it does not exist, or the folder cannot be snapshotted.
    """
    folder = os.path.abspath(source_directory)
    if not os.path.isfile(os.path.join(folder, script_name)):
        raise DefinitionError([f"script {script_name!r} not found in source_directory {folder!r}"])
    try:
        return store_snapshot(folder, svc.artifacts)
    except HeadraceError as exc:
        raise DefinitionError([f"cannot snapshot source_directory {folder!r}: {exc}"]) from exc


def publish_version(svc: Services, module_id: str, *, script_name: str, snapshot: str,
                    version: str | None = None, description: str | None = None,
                    interface: Mapping[str, Any] | None = None, source_directory: str | None = None,
                    is_default: bool = False) -> ModuleVersionRecord:
    """Add a version (``version`` None: the next whole number) of an already stored snapshot.

    Raises:
        NotFoundError: no such module or snapshot.
        AlreadyExistsError: the module has this version.
        DefinitionError: an invalid interface (every problem listed) or script name.
    """
    module = svc.store.get_module(module_id)
    if not isinstance(script_name, str) or not script_name.strip() or os.path.isabs(script_name):
        raise DefinitionError([f"script_name {script_name!r} must be a file name relative to the source folder"])
    if not has_snapshot(svc, snapshot):
        raise NotFoundError("snapshot", str(snapshot), "upload it first (PUT /api/v1/snapshots/{hash})")
    checked = ModuleInterface.from_json(interface or {})
    known = [v.version for v in svc.store.list_module_versions(module.id)]
    if version is None:
        version = str(1 + max((int(v) for v in known if v.isdigit()), default=0))
    now = clock.now()
    record = svc.store.create_module_version(ModuleVersionRecord(
        module.id, str(version), script_name, snapshot, now, now, description=description,
        interface=interface_json(checked.inputs, checked.outputs, checked.params),
        source_directory=source_directory, status=ACTIVE))
    if is_default:
        svc.store.update_module(module.id, default_version=record.version, updated_at=now)
    return record


def update_version(svc: Services, module_id: str, version: str, *, description: str | None = None,
                   status: str | None = None) -> ModuleVersionRecord:
    """Change a version's description or status (Active, Deprecated, Disabled). Raises: NotFoundError, ConfigError."""
    changes: dict[str, Any] = {"updated_at": clock.now()}
    if description is not None:
        changes["description"] = description
    if status is not None:
        changes["status"] = _status(status)
    return svc.store.update_module_version(module_id, str(version), **changes)
