"""Registered models a running step's script asks for: ``Model.get_model_path(name)`` inside a step.

A script has no registry access (no store, no token), so it writes a request into its context folder
(``MODEL_REQUESTS/<id>.json``: ``{"name", "version"}``) and waits. While the step runs, the agent looks for
requests with its other half-second polls (``step_streams``), finds the version in the store, copies its
files from the artifact store into the context folder (``models/<name>/<version>/``) and answers
(``<id>.answer.json``: ``{"path"}`` of the version's root, or ``{"error"}``). Requests of several processes
(a ParallelRunStep's workers) for one version are served from one copy.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from headrace.core.model import blob_path
from headrace.datastores.base import Datastore
from headrace.engine.step_env import MODEL_REQUESTS
from headrace.errors import HeadraceError, NotFoundError

if TYPE_CHECKING:
    from headrace.storage.base import MetadataStore

MODELS_FOLDER = "models"
"""Where answered versions' files go in the context folder: ``models/<name>/<version>/``."""

_ID = re.compile(r"^[0-9a-f]{32}$")


def pending(context_dir: Path) -> list[tuple[str, dict[str, Any]]]:
    """The requests in ``context_dir`` not answered yet, as (id, request)."""
    folder = context_dir / MODEL_REQUESTS
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    found = []
    for name in sorted(names):
        req_id = name.removesuffix(".json")
        if not name.endswith(".json") or name.endswith(".answer.json") or not _ID.match(req_id):
            continue
        if os.path.exists(folder / f"{req_id}.answer.json"):
            continue
        try:
            request = json.loads((folder / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            request = {}
        found.append((req_id, request if isinstance(request, dict) else {}))
    return found


def serve(context_dir: Path, store: MetadataStore, artifacts: Datastore) -> int:
    """Answer every pending request of one step; returns how many were answered."""
    served = 0
    for req_id, request in pending(context_dir):
        answer(context_dir, req_id, materialise(context_dir, resolve(request, store), artifacts))
        served += 1
    return served


def resolve(request: dict[str, Any], store: MetadataStore) -> dict[str, Any]:
    """The version a request names, as ``{"model": {name, version, root, files}}``, or ``{"error"}`` (with
    ``not_found``, ``key`` and ``hint`` when there is no such model or version). Plain JSON: on a Dask target
    the agent sends it to the step's worker, which copies the files there."""
    name, version = request.get("name"), request.get("version")
    if not isinstance(name, str) or not (version is None or isinstance(version, int)):
        return {"error": f"a model request needs a name and an optional whole version, not {request!r}"}
    try:
        record = store.get_model_version(name, version)
    except NotFoundError:
        return _not_found(store, name, version)
    except HeadraceError as exc:
        return {"error": str(exc)}
    return {"model": {"name": record.name, "version": record.version, "root": record.root,
                      "files": [dict(f) for f in record.files]}}


def materialise(context_dir: Path, resolved: dict[str, Any], artifacts: Datastore) -> dict[str, Any]:
    """The script's answer: the resolved version's files copied from the artifact store into the context
    folder and ``{"path"}`` of its root, or the resolution's error as is."""
    model = resolved.get("model")
    if model is None:
        return resolved
    target = context_dir / MODELS_FOLDER / model["name"] / str(model["version"])
    try:
        for item in model["files"]:
            dest = target.joinpath(*str(item["path"]).split("/"))
            if dest.is_file() and dest.stat().st_size == int(item["size"]):
                continue  # copied for an earlier request
            dest.parent.mkdir(parents=True, exist_ok=True)
            partial = dest.with_name(f".{dest.name}.{os.getpid()}.part")
            artifacts.download(blob_path(str(item["sha256"])), str(partial))
            os.replace(partial, dest)
    except (HeadraceError, OSError) as exc:
        return {"error": f"model {model['name']}:{model['version']}: its files could not be copied for the step: "
                         f"{exc}"}
    return {"path": str(target / model["root"]), "name": model["name"], "version": model["version"]}


def _not_found(store: MetadataStore, name: str, version: int | None) -> dict[str, Any]:
    """What the script's NotFoundError says: the versions of ``name``, or the names there are."""
    versions = [m.version for m in store.list_model_versions(name)]
    if versions:
        return {"error": "not found", "not_found": True, "key": f"{name}:{version}",
                "hint": f"versions of {name!r}: {', '.join(map(str, versions))}"}
    known = ", ".join(m.name for m in store.list_model_versions(latest=True)) or "none"
    return {"error": "not found", "not_found": True, "key": name, "hint": f"registered models: {known}"}


def answer_path(req_id: str) -> str:
    """Where the agent leaves a resolved request of a step on a Dask worker, in the artifact area."""
    if not _ID.match(req_id):
        raise HeadraceError(f"not a model request id: {req_id!r}")
    return f"{MODEL_REQUESTS}/{req_id}.json"


class Forwarder:
    """A Dask worker's half: sends a running step's new requests to the agent (``send``), then waits for their
    resolutions in the artifact area and answers the script once the files are copied."""

    def __init__(self, context_dir: Path, artifacts: Datastore, send: Any):
        self.context_dir, self.artifacts, self.send = context_dir, artifacts, send
        self.waiting: set[str] = set()

    def poll(self) -> None:
        for req_id, request in pending(self.context_dir):
            if req_id not in self.waiting:
                self.waiting.add(req_id)
                self.send(json.dumps({**request, "id": req_id}))
        for req_id in sorted(self.waiting):
            path = answer_path(req_id)
            try:
                resolved = json.loads(self.artifacts.read_bytes(path))
            except HeadraceError:  # not there yet
                continue
            except ValueError as exc:
                resolved = {"error": f"the agent's answer could not be read: {exc}"}
            answer(self.context_dir, req_id, materialise(self.context_dir, resolved, self.artifacts))
            self.waiting.discard(req_id)
            with contextlib.suppress(HeadraceError):
                self.artifacts.delete(path)


def answer(context_dir: Path, req_id: str, result: dict[str, Any]) -> None:
    """Write the answer whole (the script reads it as soon as the name appears)."""
    folder = context_dir / MODEL_REQUESTS
    partial = folder / f".{req_id}.answer.part"
    partial.write_text(json.dumps(result), encoding="utf-8")
    os.replace(partial, folder / f"{req_id}.answer.json")
