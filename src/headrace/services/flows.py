"""Prompt flows published to the server: versions of a flow folder's snapshot under one name.

Publishing takes a snapshot already in the artifact area (``datastores.snapshots``: the embedded CLI
stores it directly, a remote client uploads it with ``PUT /api/v1/snapshots/{digest}``), checks that the
flow loads, and adds it as the flow's next version. Scoring picks the default version (or the one asked
for), loads it through a ``FlowRuntime`` and runs one line.

The flow engine is imported on first use, so importing this module (the server does) stays cheap.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headrace import clock
from headrace.errors import ConfigError, DisabledError, FlowDefinitionError, NotFoundError
from headrace.services.bundle import Services
from headrace.services.graphs import has_snapshot
from headrace.storage.records import EntityStatus, FlowVersion, PublishedFlowRecord

if TYPE_CHECKING:
    from headrace.flows.executor import Flow
    from headrace.flows.spec import FlowSpec
    from headrace.services.flow_runtime import FlowRuntime

__all__ = [
    "NAME_PATTERN",
    "check_flow_name",
    "flow_interface",
    "get_flow",
    "list_flows",
    "publish_flow",
    "publish_folder",
    "published_flow",
    "select_version",
    "set_default_version",
    "set_status",
]

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
"""A published flow's name: it is a URL path segment (``/api/v1/flows/{name}/score``)."""


def check_flow_name(name: Any) -> str:
    """Raises: ConfigError for a name that is not letters, digits, '_', '-' or '.' (128 at most)."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ConfigError(f"invalid flow name {name!r}: use letters, digits, '_', '-' or '.' (a letter or digit "
                          "first, 128 characters at most)")
    return name


def flow_interface(spec: FlowSpec) -> dict[str, Any]:
    """What a caller needs to score a flow: its inputs (type, default, flags), outputs and streamed output."""
    from headrace.flows.values import json_safe
    from headrace.services.flow_runtime import hidden_outputs

    inputs = {}
    for name, inp in spec.inputs.items():
        entry: dict[str, Any] = {"type": inp.type, "required": inp.required}
        if not inp.required:
            entry["default"] = json_safe(inp.default)
        if inp.description:
            entry["description"] = inp.description
        if inp.is_chat_input:
            entry["is_chat_input"] = True
        if inp.is_chat_history:
            entry["is_chat_history"] = True
        inputs[name] = entry
    hidden = hidden_outputs(spec)
    outputs = {}
    for name, out in spec.outputs.items():
        if name in hidden:
            continue
        entry = {"type": out.type} if out.type else {}
        if out.description:
            entry["description"] = out.description
        if out.is_chat_output:
            entry["is_chat_output"] = True
        outputs[name] = entry
    stream = spec.stream_output
    return {"type": spec.type, "description": spec.description, "inputs": inputs, "outputs": outputs,
            "stream_output": stream if stream not in hidden else None}


def publish_flow(svc: Services, *, name: str, snapshot: str, version: int | None = None,
                 description: str | None = None, make_default: bool = True,
                 runtime: FlowRuntime | None = None) -> PublishedFlowRecord:
    """Publish an uploaded flow snapshot as a version of the flow ``name``.

    Args:
        svc: the workspace's services.
        name: the flow's name (created by its first version).
        snapshot: the digest of the flow folder's snapshot, already in the artifact area.
        version: the version number (default: the next one, 1 for a new flow).
        description: what this version is (default: the flow's own ``description``).
        make_default: make it the version scored by default (the first version always is).
        runtime: the runtime that will serve it (it keeps the flow loaded); default: load it once here.

    Raises:
        ConfigError: an invalid name.
        FlowDefinitionError: the snapshot is missing, or the flow does not load (every problem listed).
        AlreadyExistsError: the version number is taken.
    """
    from headrace.errors import DatastoreError
    from headrace.flows.executor import load_flow
    from headrace.services.flow_runtime import materialise

    check_flow_name(name)
    if not has_snapshot(svc, snapshot):
        raise FlowDefinitionError([f"snapshot {snapshot!r} is not on the server; upload the flow folder with "
                                   "PUT /api/v1/snapshots/{digest} first"], flow=f"flow {name!r}")
    try:
        flow = runtime.flow(snapshot) if runtime is not None else load_flow(materialise(svc, snapshot))
    except FlowDefinitionError as exc:
        raise FlowDefinitionError(exc.problems, flow=f"{name}/flow.yaml") from None
    except DatastoreError as exc:
        raise FlowDefinitionError([f"snapshot {snapshot}: {exc}"], flow=f"flow {name!r}") from exc
    spec = flow.spec
    return svc.store.add_flow_version(
        name, snapshot=snapshot, created_at=clock.now(), version=version,
        description=description if description is not None else (spec.description or None),
        interface=flow_interface(spec), make_default=make_default)


def publish_folder(svc: Services, folder: str | Path, *, name: str, **options: Any) -> PublishedFlowRecord:
    """Snapshot a local flow folder into the artifact area, then ``publish_flow`` it (embedded use).

    Raises:
        FlowDefinitionError: the folder is not a valid flow (checked before anything is stored).
        DatastoreError: the folder cannot be snapshotted.
    """
    from headrace.datastores.snapshots import store_snapshot
    from headrace.flows.spec import load_spec

    check_flow_name(name)
    load_spec(folder)
    path = Path(folder)
    digest = store_snapshot(path.parent if path.is_file() else path, svc.artifacts)
    return publish_flow(svc, name=name, snapshot=digest, **options)


def get_flow(svc: Services, name: str) -> PublishedFlowRecord:
    """Raises: NotFoundError (naming the published flows)."""
    try:
        return svc.store.get_flow(name)
    except NotFoundError:
        names = [f.name for f in svc.store.list_flows()]
        hint = f"published flows: {', '.join(names)}" if names else "publish one with `headrace flow publish DIR --name N`"
        raise NotFoundError("flow", name, hint) from None


def list_flows(svc: Services, *, active_only: bool = False) -> list[PublishedFlowRecord]:
    """Published flows by name."""
    return svc.store.list_flows(active_only=active_only)


def set_status(svc: Services, name: str, status: EntityStatus) -> PublishedFlowRecord:
    """Enable or disable a flow (all its versions). Raises: NotFoundError."""
    record = get_flow(svc, name)
    if record.status is status:
        return record
    return svc.store.update_flow(name, status=status, updated_at=clock.now())


def set_default_version(svc: Services, name: str, version: int) -> PublishedFlowRecord:
    """Make ``version`` the one scored by default. Raises: NotFoundError (listing the versions)."""
    record = get_flow(svc, name)
    select_version(record, version, check_status=False)
    return svc.store.update_flow(name, default_version=version, updated_at=clock.now())


def select_version(record: PublishedFlowRecord, version: int | None = None, *,
                   check_status: bool = True) -> FlowVersion:
    """The version to score: ``version``, or the default.

    Raises:
        DisabledError: the flow is disabled (and ``check_status``).
        NotFoundError: no such version (the valid ones are listed).
    """
    if check_status and record.status is not EntityStatus.ACTIVE:
        raise DisabledError(f"flow {record.name!r} is disabled; enable it to score it "
                            f"(`POST /api/v1/flows/{record.name}/enable`, admin)")
    entry = record.version(version)
    if entry is None:
        valid = ", ".join(str(v.version) for v in record.versions)
        raise NotFoundError("flow version", f"{record.name} {version}", f"versions of flow {record.name!r}: {valid}")
    return entry


def published_flow(svc: Services, runtime: FlowRuntime, name: str, version: int | None = None) -> tuple[Flow, int]:
    """The loaded flow to score for ``name`` (its default version, or ``version``), and its version number.

    Raises:
        NotFoundError: no such flow or version.
        DisabledError: the flow is disabled.
    """
    entry = select_version(get_flow(svc, name), version)
    return runtime.flow(entry.snapshot), entry.version
