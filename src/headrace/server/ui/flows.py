"""UI pages of prompt flows: the published flows (``/flows``), one flow (``/flows/{name}``), and the LLM
connections (``/connections``).

These pages only read. A flow's page shows one version (the default, or ``?version=N``): its inputs and
outputs, its nodes drawn as a graph, how to score it over REST, and the latest batch and evaluation runs
tagged with its name. The connections page never shows a key, only whether one is stored.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from headrace.errors import HeadraceError, NotFoundError
from headrace.server.deps import get_base_url
from headrace.server.ui import flow_data as data
from headrace.server.ui.common import not_found, page, signed_in
from headrace.server.ui.dag import dag_svg
from headrace.server.ui.session import Viewer
from headrace.services import flows
from headrace.services.bundle import Services

router = APIRouter(include_in_schema=False)


@router.get("/flows", response_class=HTMLResponse)
async def flows_page(request: Request, q: str = "") -> Response:
    """Published flows, with a name search."""
    who = signed_in(request)
    rows = await run_in_threadpool(data.flow_rows, request.app.state.services, get_base_url(request), query=q)
    return page(request, "flows.html", who, active="flows", rows=rows, q=q)


@router.get("/flows/{flow_name}", response_class=HTMLResponse)
async def flow_page(request: Request, flow_name: str, version: str = "") -> Response:
    """One published flow at its default version, or at ``?version=N``."""
    who = signed_in(request)
    return await run_in_threadpool(_flow_page, request, who, flow_name, version)


def _flow_page(request: Request, who: Viewer, name: str, version: str) -> Response:
    svc: Services = request.app.state.services
    try:
        record = flows.get_flow(svc, name)
    except NotFoundError as exc:
        return not_found(request, who, str(exc))
    wanted = int(version) if version.isdigit() else None
    shown = record.version(wanted)
    if shown is None:
        listed = ", ".join(str(v.version) for v in record.versions)
        return not_found(request, who, f"Flow {name!r} has no version {version!r} (versions: {listed}).")
    spec, problem = None, None
    try:
        spec = data.version_spec(svc, shown)
    except HeadraceError as exc:  # a snapshot that went missing still leaves its interface to show
        problem = f"The files of version {shown.version} cannot be read: {exc}"
    chosen = None if shown.version == record.default_version else shown.version
    url = data.score_url(get_base_url(request), record.name, chosen)
    graph = data.flow_graph(spec) if spec is not None else None
    return page(
        request, "flow.html", who, active="flows", record=record, shown=shown, chosen=chosen,
        versions=data.version_rows(record), inputs=data.input_rows(shown.interface),
        outputs=data.output_rows(shown.interface, data.output_references(spec) if spec else {}),
        nodes=data.node_rows(spec) if spec else [], graph=graph, problem=problem,
        dag=dag_svg(graph, title=f"Nodes of flow {record.name}") if graph else None,
        score_url=url, snippets=data.snippets(url, shown.interface), runs=data.flow_runs(svc, record.name),
    )


@router.get("/connections", response_class=HTMLResponse)
async def connections_page(request: Request) -> Response:
    """The workspace's LLM connections, without their keys."""
    who = signed_in(request)
    rows = await run_in_threadpool(data.connection_rows, request.app.state.services)
    return page(request, "connections.html", who, active="connections", rows=rows)
