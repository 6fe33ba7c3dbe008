"""UI pages of data: the datastores (``/datastores``, browsing one at ``/datastores/{name}?prefix=``) and the
registered datasets (``/datasets``, one at ``/datasets/{name}?version=N``).

These pages only read. No page shows a credential: cloud datastores show their account, endpoint and how
they sign in, never the key.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from headrace.errors import HeadraceError, NotFoundError
from headrace.server.ui import data_rows as rows
from headrace.server.ui.common import not_found, page, signed_in
from headrace.server.ui.session import Viewer

router = APIRouter(include_in_schema=False)


@router.get("/datastores", response_class=HTMLResponse)
async def datastores_page(request: Request) -> Response:
    who = signed_in(request)
    found = await run_in_threadpool(rows.datastore_rows, request.app.state.services)
    return page(request, "datastores.html", who, active="data", rows=found)


@router.get("/datastores/{name}", response_class=HTMLResponse)
async def datastore_page(request: Request, name: str, prefix: str = "") -> Response:
    who = signed_in(request)
    return await run_in_threadpool(_datastore_page, request, who, name, prefix)


def _datastore_page(request: Request, who: Viewer, name: str, prefix: str) -> Response:
    svc = request.app.state.services
    try:
        store = rows.datastore_row(svc, name)
    except NotFoundError as exc:
        return not_found(request, who, str(exc))
    problem, listing = None, rows.Listing([], [])
    try:
        listing = rows.browse(svc, name, prefix)
    except HeadraceError as exc:  # an unreachable store or a bad prefix is shown, not a 500
        problem = str(exc)
    crumbs = []
    parts = [p for p in prefix.strip("/").split("/") if p]
    for i, part in enumerate(parts):
        crumbs.append((part, "/".join(parts[: i + 1])))
    return page(request, "datastore.html", who, active="data", store=store, listing=listing, prefix=prefix.strip("/"),
                crumbs=crumbs, problem=problem)


@router.get("/datasets", response_class=HTMLResponse)
async def datasets_page(request: Request) -> Response:
    who = signed_in(request)
    found = await run_in_threadpool(rows.dataset_rows, request.app.state.services)
    return page(request, "datasets.html", who, active="data", rows=found)


@router.get("/datasets/{name}", response_class=HTMLResponse)
async def dataset_page(request: Request, name: str, version: str = "") -> Response:
    who = signed_in(request)
    return await run_in_threadpool(_dataset_page, request, who, name, version)


def _dataset_page(request: Request, who: Viewer, name: str, version: str) -> Response:
    try:
        shown = rows.dataset_page(request.app.state.services, name, version)
    except NotFoundError as exc:
        return not_found(request, who, str(exc))
    return page(request, "dataset.html", who, active="data", shown=shown)
