"""UI pages of the model registry: every model (``/models``) and one model (``/models/{name}?version=N``) with its
versions, stages and aliases, the stage history, the lineage (run, step, datasets) and the files (downloadable).

These pages only read; stages and aliases change through the CLI, the SDK or the REST API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from headrace.errors import HeadraceError, NotFoundError
from headrace.server.ui.common import not_found, page, signed_in
from headrace.server.ui.session import Viewer
from headrace.services import model_files, models
from headrace.services.bundle import Services
from headrace.storage.model_records import ModelRecord, StageChangeRecord

router = APIRouter(include_in_schema=False)


@dataclass
class ModelRow:
    """One name in the list: its latest version, how many versions, and which versions hold which stage."""

    latest: ModelRecord
    count: int
    stages: dict[str, list[int]]
    aliases: dict[str, int]


@dataclass
class ModelPage:
    record: ModelRecord
    versions: list[ModelRecord]
    aliases: dict[int, list[str]]
    history: list[StageChangeRecord]
    datasets: list[dict[str, Any]] = field(default_factory=list)


def model_rows(svc: Services) -> list[ModelRow]:
    by_name: dict[str, list[ModelRecord]] = {}
    for m in svc.store.list_model_versions():
        by_name.setdefault(m.name, []).append(m)
    aliases: dict[str, dict[str, int]] = {}
    for a in svc.store.list_model_aliases():
        aliases.setdefault(a.name, {})[a.alias] = a.version
    out = []
    for name, versions in by_name.items():
        stages: dict[str, list[int]] = {}
        for v in versions:
            if v.stage != "None":
                stages.setdefault(v.stage, []).append(v.version)
        out.append(ModelRow(versions[-1], len(versions), stages, aliases.get(name, {})))
    return out


def model_page(svc: Services, name: str, version: str) -> ModelPage:
    """Raises: NotFoundError (the message lists what exists)."""
    try:
        record = models.get(svc, name, version or None)
    except HeadraceError as exc:
        raise NotFoundError("model", f"{name}:{version}" if version else name, str(exc)) from exc
    return ModelPage(record=record, versions=svc.store.list_model_versions(name),
                     aliases=dict(svc.store.model_alias_map(name)),
                     history=svc.store.list_model_stage_changes(name), datasets=list(record.datasets))


@router.get("/models", response_class=HTMLResponse)
async def models_page(request: Request) -> Response:
    who = signed_in(request)
    found = await run_in_threadpool(model_rows, request.app.state.services)
    return page(request, "models.html", who, active="models", rows=found)


@router.get("/models/{name}", response_class=HTMLResponse)
async def one_model_page(request: Request, name: str, version: str = "") -> Response:
    who = signed_in(request)
    return await run_in_threadpool(_model_page, request, who, name, version)


def _model_page(request: Request, who: Viewer, name: str, version: str) -> Response:
    try:
        shown = model_page(request.app.state.services, name, version)
    except NotFoundError as exc:
        return not_found(request, who, str(exc))
    return page(request, "model.html", who, active="models", shown=shown)


@router.get("/models/{name}/versions/{version}/files/{path:path}")
async def model_file(request: Request, name: str, version: str, path: str) -> Response:
    """One file of a version, as a download."""
    who = signed_in(request)
    return await run_in_threadpool(_model_file, request, who, name, version, path)


def _model_file(request: Request, who: Viewer, name: str, version: str, path: str) -> Response:
    svc = request.app.state.services
    try:
        record = models.get(svc, name, version)
    except HeadraceError as exc:
        return not_found(request, who, str(exc))
    for f in models.files_of(record):
        if f.path == path:
            filename = path.rsplit("/", 1)[-1].replace('"', "")
            return Response(model_files.read_blob(svc, f.sha256), media_type="application/octet-stream",
                            headers={"Content-Disposition": f'attachment; filename="{filename}"'})
    return not_found(request, who, f"No file {path!r} in model {record.id}.")
