"""UI pages: the runs list, the run page, step logs (with a live tail), outputs, cancel and resubmit.

Reading needs any role; cancel and resubmit need what ``services.policy`` says (the submitter role) (checked by
``form_guard``, whatever buttons the page showed). Logs are read in bounded pieces by ``server.logs``, as the REST
route reads them; outputs are streamed from their datastore (a folder as a zip).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)

from headrace.errors import ConfigError, HeadraceError, NotFoundError
from headrace.server.errors import classify
from headrace.server.logs import LOG_TAIL_BYTES, TEXT, LogFile
from headrace.server.ui import run_data
from headrace.server.ui.common import form_guard, not_found, page, signed_in
from headrace.server.ui.session import Viewer
from headrace.server.ui.sweep_view import sweep_view
from headrace.services import endpoints, publishing
from headrace.services import runs as run_service
from headrace.services.bundle import Services
from headrace.services.datastores import get_datastore
from headrace.services.policy import Action
from headrace.storage.records import RunRecord, StepRunRecord, StepStatus

router = APIRouter(include_in_schema=False)
LOG_CAP = 256 * 1024  # bytes sent at most per live-tail request (the newest ones)


@router.get("/runs")
def runs_list(request: Request, cursor: str | None = None, back: str | None = None,
              fragment: str = "") -> Response:
    who = signed_in(request)
    svc = request.app.state.services
    filters = run_data.RunFilters.from_query(request.query_params)
    names = run_data.choices(svc)
    error, status_code = "", 200
    try:
        listing = run_data.runs_page(svc, filters, names, cursor=cursor or None, back=run_data.parse_back(back))
    except ConfigError as exc:
        listing, error, status_code = run_data.RunsPage([]), str(exc), 400
    template = "runs_table.html" if fragment == "rows" else "runs.html"
    return page(request, template, who, status_code=status_code, active="runs", listing=listing,
                filters=filters, options=names.options(), error=error)


@router.get("/runs/{run_id}")
def run_page(request: Request, run_id: str) -> Response:
    who = signed_in(request)
    return _run_page(request, who, run_id)


def _run_page(request: Request, who: Viewer, run_id: str, error: str = "", status_code: int = 200) -> Response:
    try:
        view = run_data.run_view(request.app.state.services, run_id)
    except NotFoundError:
        return not_found(request, who, f"No run with id {run_id!r}.")
    sweep = sweep_view(request.app.state.services, view.run, view.children)
    produced = request.app.state.services.store.list_model_versions(run_id=run_id)  # lineage: models from this run
    return page(request, "run.html", who, status_code=status_code, active="runs", view=view, error=error,
                sweep=sweep, models=produced)


@router.get("/runs/{run_id}/state")
def run_state(request: Request, run_id: str) -> Response:
    """What the run page polls while the run is live: the run's and each step's status."""
    signed_in(request)
    svc = request.app.state.services
    try:
        run = svc.store.get_run(run_id)
    except NotFoundError as exc:
        return JSONResponse({"error": str(exc)}, status_code=404)
    records = svc.store.list_step_runs(run_id)
    steps = {s.name: run_data.display_status(s) for s in records}
    # Child runs (a sweep's trials, with their primary metric; a running step's sweep) change the page too.
    children = svc.store.list_runs(parent_run_id=run_id, limit=500)[0]
    state = {"status": run.status.value, "cancel_requested": run.cancel_requested, "steps": steps,
             "children": {c.id: c.status.value for c in children},
             "step_children": {s.name: [c.status.value for c in svc.store.list_runs(parent_run_id=s.id, limit=50)[0]]
                               for s in records if s.status is StepStatus.RUNNING}}
    sweep = sweep_view(svc, run, children)
    if sweep is not None:
        state["trials"] = {t.run.id: t.metric for t in sweep.trials}
    if not records:  # a run logged from outside an agent (interactive, a sweep trial): its values as they come
        state["values"] = len(svc.store.list_metrics(run_id))
    return JSONResponse(state, headers={"Cache-Control": "no-store"})


def _step(request: Request, run_id: str, step: str) -> StepRunRecord:
    return run_service.get_step_run(request.app.state.services, run_id, step)


@router.get("/runs/{run_id}/steps/{step}/logs/{which}")
def step_log(request: Request, run_id: str, step: str, which: Literal["stdout", "stderr", "execution"],
             offset: Annotated[int | None, Query(ge=0)] = None) -> Response:
    """A step log as text: its last 1 MiB (a first line says what is left out), or with ``offset`` (a
    byte offset) what was written since, for the live tail.

    With ``offset``, at most the newest ``LOG_CAP`` bytes come back, and while the step runs only
    whole lines. Headers: ``X-Log-Offset`` (pass it next time), ``X-Step-Status``, and
    ``X-Log-Reset: 1`` when the text replaces what the page shows (cut, or the log restarted).
    """
    signed_in(request)
    try:
        record = _step(request, run_id, step)  # the status first: a terminal step's log is complete
        log = LogFile(request.app.state.services, record, which)
    except NotFoundError as exc:
        return PlainTextResponse(str(exc), status_code=404)
    headers = {"X-Step-Status": run_data.display_status(record), "Cache-Control": "no-store"}
    try:
        if offset is None:
            start, cut = log.tail_start(LOG_TAIL_BYTES)
            note = (f"[the first {start} bytes of this log are not shown: read them from the REST API, "
                    f"GET /api/v1/runs/{run_id}/steps/{step}/logs?log={which} with a Range header or "
                    f"an offset]\n").encode() if cut else b""
            headers["X-Log-Truncated"] = "true" if cut else "false"
            return Response(note + log.read(start, log.size), media_type=TEXT, headers=headers)
        reset = offset > log.size
        start = 0 if reset else offset
        if log.size - start > LOG_CAP:
            start, reset = log.tail_start(LOG_CAP)[0], True
        chunk = log.read(start, log.size)
    finally:
        log.close()
    if not record.status.is_terminal and not chunk.endswith(b"\n"):
        chunk = chunk[: chunk.rfind(b"\n") + 1]  # hold a partial line back until it is complete
    headers.update({"X-Log-Offset": str(start + len(chunk)), "X-Log-Reset": "1" if reset else "0"})
    return Response(chunk, media_type=TEXT, headers=headers)


@router.get("/runs/{run_id}/steps/{step}/outputs/{name}")
def step_output(request: Request, run_id: str, step: str, name: str) -> Response:
    """Download a step output: a file as it is, a folder as a zip."""
    signed_in(request)
    svc = request.app.state.services
    try:
        record = _step(request, run_id, step)
        if name not in record.outputs:
            have = ", ".join(sorted(record.outputs)) or "none yet"
            raise NotFoundError("output", name, f"outputs of step {record.name!r}: {have}")
        where = record.outputs[name]
        ds = get_datastore(svc, where["datastore"])
        path = where["path"]
        if not ds.exists(path):
            raise NotFoundError("output data", f"{where['datastore']}:{path}", "the step wrote nothing there")
    except HeadraceError as exc:
        return PlainTextResponse(str(exc), status_code=classify(exc)[0])
    if ds.is_dir(path):
        filename = f"{record.name}-{name}.zip"
        return StreamingResponse(_zip_folder(ds, path), media_type="application/zip",
                                 headers={"Content-Disposition": f'attachment; filename="{_safe(filename)}"'})
    filename = _safe(path.rsplit("/", 1)[-1] or name)
    local = ds.local_path(path)
    if local:
        return FileResponse(local, filename=filename)
    return Response(ds.read_bytes(path), media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _safe(filename: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in filename) or "output"


class _Sink:
    """A write-only stream ``zipfile`` writes to; the generator hands out what piled up."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        out, self.parts = b"".join(self.parts), []
        return out


def _zip_folder(ds, prefix: str) -> Iterator[bytes]:
    """The files under ``prefix`` as a zip, produced as it is read (local files in 1 MiB pieces)."""
    sink = _Sink()
    root = prefix.rstrip("/") + "/"
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in ds.list(prefix, recursive=True):
            arcname = info.path[len(root):] if info.path.startswith(root) else info.path.rsplit("/", 1)[-1]
            with zf.open(arcname, "w", force_zip64=info.size > 1 << 31) as dst:
                local = ds.local_path(info.path)
                if local:
                    with open(local, "rb") as src:
                        while piece := src.read(1 << 20):
                            dst.write(piece)
                            yield sink.take()
                else:
                    dst.write(ds.read_bytes(info.path))
            yield sink.take()
    yield sink.take()


@router.post("/runs/{run_id}/cancel")
def cancel(request: Request, run_id: str, csrf: Annotated[str, Form()] = "") -> Response:
    who = form_guard(request, csrf, Action.CANCEL_RUN)
    try:
        run_service.cancel_run(request.app.state.services, run_id)
    except NotFoundError:
        return not_found(request, who, f"No run with id {run_id!r}.")
    agent = request.app.state.agent
    if agent is not None:
        agent.cancel(run_id)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


@router.post("/runs/{run_id}/resubmit")
def resubmit(request: Request, run_id: str, csrf: Annotated[str, Form()] = "") -> Response:
    who = form_guard(request, csrf, Action.SUBMIT_RUN)
    svc = request.app.state.services
    try:
        run = svc.store.get_run(run_id)
    except NotFoundError:
        return not_found(request, who, f"No run with id {run_id!r}.")
    try:
        new = resubmit_run(svc, run)
    except HeadraceError as exc:
        return _run_page(request, who, run_id, error=f"Could not resubmit: {exc}", status_code=classify(exc)[0])
    return RedirectResponse(f"/runs/{new.id}", status_code=303)


def resubmit_run(svc: Services, run: RunRecord) -> RunRecord:
    """Queue a new run with the same parameters, through the same published pipeline or endpoint version.

    Raises:
        ConflictError: that published pipeline or endpoint is disabled now.
        ParameterError: the parameters no longer fit (e.g. a datastore was removed).
    """
    tags = {k: v for k, v in run.tags.items() if not k.startswith("headrace.")}
    tags["headrace.resubmitted_from"] = run.id
    options = {"pipeline_parameters": dict(run.parameters), "tags": tags, "description": run.description,
               "run_source": "UI", "continue_on_step_failure": run.continue_on_step_failure}
    if run.pipeline_endpoint_id:
        ep = endpoints.get_endpoint(svc, run.pipeline_endpoint_id)
        record, _ = endpoints.submit_endpoint(svc, ep, run.experiment_name,
                                              pipeline_version=run.pipeline_endpoint_version, **options)
    elif run.published_pipeline_id:
        record, _ = publishing.submit_published(svc, run.published_pipeline_id, run.experiment_name, **options)
    else:
        record = run_service.submit_frozen(svc, svc.store.get_pipeline(run.pipeline_id), run.experiment_name,
                                           regenerate_outputs=run.regenerate_outputs, **options)
    return record
