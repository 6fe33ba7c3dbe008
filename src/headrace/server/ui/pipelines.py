"""UI pages of one published pipeline (``/pipelines/{id}``) and one pipeline endpoint (``/endpoints/{id}``).

Each page shows the graph, the parameters, how to call it over REST, its schedules and latest runs, and
offers a submit form (submitter and up) and enable/disable buttons (admin). Posts go through the same
services as the REST API; a refused submission shows the form again with the values kept.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from headrace.errors import ConfigError, ConflictError, HeadraceError, NotFoundError, ParameterError
from headrace.server.deps import get_base_url
from headrace.server.ui import pipeline_data as data
from headrace.server.ui.common import form_guard, not_found, page, signed_in
from headrace.server.ui.dag import dag_svg
from headrace.server.ui.session import Viewer
from headrace.services import endpoints, policy, publishing
from headrace.services.bundle import Services
from headrace.services.policy import Action
from headrace.storage.records import EntityStatus, PipelineEndpointRecord, PublishedPipelineRecord

router = APIRouter(include_in_schema=False)


class FormProblem:
    """What to show again after a refused post: the message, the field at fault, the posted values."""

    def __init__(self, message: str, field: str | None = None, form: dict[str, str] | None = None):
        self.message, self.field, self.form = message, field, form


def _context(request: Request, who: Viewer, svc: Services, published: PublishedPipelineRecord, *, experiment: str,
             url: str, problem: FormProblem | None, version: str | None = None, **target: str) -> dict[str, Any]:
    """What both pages show about the published pipeline that runs (the endpoint's chosen version)."""
    graph = svc.store.get_pipeline(published.pipeline_id).graph
    declared = graph.get("parameters") or {}
    fields = data.parameter_fields(declared, problem.form if problem else None, problem.field if problem else None)
    suggestions = {}
    if policy.allows(who.role, Action.SUBMIT_RUN):
        for f in fields:
            if f.type == "datapath" and f.value[0] not in suggestions:
                suggestions[f.value[0]] = data.path_suggestions(svc, f.value[0], f.value[1])
    posted = problem.form if problem and problem.form else {}
    runs, more_runs = data.recent_runs(svc, **target)
    return {
        "published": published, "graph": graph, "dag": dag_svg(graph, title=f"Steps of {published.name}"),
        "fields": fields, "data_inputs": data.data_inputs(graph), "suggestions": suggestions,
        "datastores": [d.name for d in svc.store.list_datastores()],
        "datasets": [d.name for d in svc.store.list_datasets() if d.name],
        "experiment_name": posted.get("experiment_name", experiment),
        "idempotency_key": posted.get("idempotency_key") or secrets.token_urlsafe(16),
        "rest_url": url, "snippets": data.snippets(url, get_base_url(request), declared, experiment, version=version,
                                                  **_sdk(target)),
        "schedules": data.schedule_rows(svc, **target), "runs": runs, "more_runs": more_runs,
        "runs_query": urlencode(target),
        "problem": problem, "active": "endpoints",
    }


def _sdk(target: dict[str, str]) -> dict[str, str]:
    if "pipeline_endpoint_id" in target:
        return {"endpoint_id": target["pipeline_endpoint_id"]}
    return {"published_id": target["published_pipeline_id"]}


def _pipeline_page(request: Request, who: Viewer, record: PublishedPipelineRecord,
                   problem: FormProblem | None = None, status_code: int = 200) -> HTMLResponse:
    svc: Services = request.app.state.services
    url = f"{get_base_url(request)}/api/v1/pipelines/{record.id}/submit"
    context = _context(request, who, svc, record, experiment=data.default_experiment(record), url=url, problem=problem,
                       published_pipeline_id=record.id)
    member_of = [(ep, v.version) for ep in svc.store.list_pipeline_endpoints(active_only=False)
                 for v in ep.versions if v.published_pipeline_id == record.id]
    return page(request, "pipeline.html", who, status_code, base_path=f"/pipelines/{record.id}", kind="pipeline",
                record=record, member_of=member_of, **context)


def _endpoint_page(request: Request, who: Viewer, ep: PipelineEndpointRecord, version: str | None = None,
                   problem: FormProblem | None = None, status_code: int = 200) -> HTMLResponse:
    svc: Services = request.app.state.services
    entry = ep.version(version) or ep.version(None)
    assert entry is not None  # the default version always exists
    chosen = None if entry.version == ep.default_version else entry.version
    url = f"{get_base_url(request)}/api/v1/pipeline-endpoints/{ep.id}/submit"
    if chosen is not None:
        url += f"?pipelineVersion={chosen}"
    published = svc.store.get_published_pipeline(entry.published_pipeline_id)
    context = _context(request, who, svc, published, experiment=data.default_experiment(ep), url=url, problem=problem,
                       version=chosen, pipeline_endpoint_id=ep.id)
    return page(request, "endpoint.html", who, status_code, base_path=f"/endpoints/{ep.id}", kind="endpoint",
                record=ep, shown_version=entry.version, chosen_version=chosen,
                versions=data.version_rows(svc, ep), **context)


def _find_endpoint(svc: Services, key: str) -> PipelineEndpointRecord:
    try:
        return svc.store.get_pipeline_endpoint(key)
    except NotFoundError:
        return svc.store.get_pipeline_endpoint(name=key)  # names are unique too


# -- pages --------------------------------------------------------------------------------------

@router.get("/pipelines/{published_id}", response_class=HTMLResponse)
def pipeline_page(request: Request, published_id: str) -> Response:
    who = signed_in(request)
    try:
        record = request.app.state.services.store.get_published_pipeline(published_id)
    except NotFoundError:
        return not_found(request, who, f"No published pipeline has the id {published_id!r}.")
    return _pipeline_page(request, who, record)


@router.get("/endpoints/{endpoint_id}", response_class=HTMLResponse)
def endpoint_page(request: Request, endpoint_id: str, version: str | None = None) -> Response:
    who = signed_in(request)
    try:
        ep = _find_endpoint(request.app.state.services, endpoint_id)
    except NotFoundError:
        return not_found(request, who, f"No pipeline endpoint has the id or name {endpoint_id!r}.")
    return _endpoint_page(request, who, ep, version)


# -- forms ----------------------------------------------------------------------------------------

async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


@router.post("/pipelines/{published_id}/submit")
async def submit_pipeline(request: Request, published_id: str) -> Response:
    return await run_in_threadpool(_submit, request, await _form(request), published_id=published_id)


@router.post("/endpoints/{endpoint_id}/submit")
async def submit_endpoint(request: Request, endpoint_id: str) -> Response:
    return await run_in_threadpool(_submit, request, await _form(request), endpoint_id=endpoint_id)


def _submit(request: Request, form: dict[str, str], published_id: str | None = None,
            endpoint_id: str | None = None) -> Response:
    who = form_guard(request, form.get("csrf"), Action.SUBMIT_RUN)
    svc: Services = request.app.state.services
    version = form.get("pipeline_version") or None
    try:
        ep = _find_endpoint(svc, endpoint_id) if endpoint_id else None
        record = svc.store.get_published_pipeline(published_id) if published_id else None
    except NotFoundError as exc:
        return not_found(request, who, str(exc))

    def again(problem: FormProblem, status_code: int) -> HTMLResponse:
        if ep is not None:
            return _endpoint_page(request, who, ep, version, problem, status_code)
        return _pipeline_page(request, who, record, problem, status_code)

    experiment = form.get("experiment_name", "").strip()
    # The page's nonce plus the values: a double click makes one run, a changed resubmission a new one.
    posted = sorted((k, v) for k, v in form.items() if k != "csrf")
    options = {"run_source": "UI", "idempotency_key": hashlib.sha256(repr(posted).encode()).hexdigest()}
    try:
        if ep is not None:
            entry = ep.version(version)
            if entry is None:
                raise ParameterError(f"endpoint {ep.name!r} has no version {version!r}")
            declared = publishing.interface(svc, svc.store.get_published_pipeline(entry.published_pipeline_id))
            run, _ = endpoints.submit_endpoint(svc, ep, experiment, pipeline_version=version,
                                               pipeline_parameters=data.form_overrides(declared, form), **options)
        else:
            declared = publishing.interface(svc, record)
            run, _ = publishing.submit_published(svc, record.id, experiment,
                                                 pipeline_parameters=data.form_overrides(declared, form), **options)
    except ParameterError as exc:
        return again(FormProblem(str(exc), exc.parameter, form), 400)
    except ConfigError as exc:
        return again(FormProblem(str(exc), "experiment_name", form), 400)
    except ConflictError as exc:
        return again(FormProblem(str(exc), None, form), 409)
    return RedirectResponse(f"/runs/{run.id}", status_code=303)


@router.post("/pipelines/{published_id}/{action}")
async def pipeline_status(request: Request, published_id: str, action: str) -> Response:
    form = await _form(request)
    return await run_in_threadpool(_set_status, request, form, action, published_id=published_id)


@router.post("/endpoints/{endpoint_id}/{action}")
async def endpoint_status(request: Request, endpoint_id: str, action: str) -> Response:
    form = await _form(request)
    return await run_in_threadpool(_set_status, request, form, action, endpoint_id=endpoint_id)


def _set_status(request: Request, form: dict[str, str], action: str, published_id: str | None = None,
                endpoint_id: str | None = None) -> Response:
    who = form_guard(request, form.get("csrf"),
                     Action.MANAGE_ENDPOINTS if endpoint_id else Action.CHANGE_PUBLISHED)
    svc: Services = request.app.state.services
    status = {"enable": EntityStatus.ACTIVE, "disable": EntityStatus.DISABLED}.get(action)
    if status is None:
        return not_found(request, who, f"There is no action {action!r}: use enable or disable.")
    try:
        if endpoint_id:
            ep = _find_endpoint(svc, endpoint_id)
            endpoints.set_status(svc, ep.id, status)
            return RedirectResponse(f"/endpoints/{ep.id}", status_code=303)
        publishing.set_status(svc, published_id, status)
        return RedirectResponse(f"/pipelines/{published_id}", status_code=303)
    except NotFoundError as exc:
        return not_found(request, who, str(exc))
    except HeadraceError as exc:  # ConflictError: active schedules name themselves in the message
        code = 409 if isinstance(exc, ConflictError) else 400
        problem = FormProblem(str(exc))
        if endpoint_id:
            return _endpoint_page(request, who, _find_endpoint(svc, endpoint_id), None, problem, code)
        return _pipeline_page(request, who, svc.store.get_published_pipeline(published_id), problem, code)
