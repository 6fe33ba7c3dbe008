"""UI pages' run files: a run's or step run's files (``./outputs``, ``./logs``, uploads, logged images).

Images are served inline with their type (the run page shows logged images); anything else downloads.
Reading needs any signed-in role.
"""

from __future__ import annotations

import mimetypes
import posixpath

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from headrace.errors import HeadraceError
from headrace.server.errors import classify
from headrace.server.ui.common import signed_in
from headrace.services import runs as run_service
from headrace.services import tracking

router = APIRouter(include_in_schema=False)
INLINE = frozenset({"image/png", "image/jpeg", "image/gif", "image/svg+xml", "image/webp"})


def _file(owner_id: str, request: Request, name: str) -> Response:
    try:
        data = tracking.read_run_file(request.app.state.services, owner_id, name)
    except HeadraceError as exc:
        return PlainTextResponse(str(exc), status_code=classify(exc)[0])
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    base = "".join(c if c.isalnum() or c in "._-" else "_" for c in posixpath.basename(name)) or "file"
    disposition = "inline" if kind in INLINE else "attachment"
    headers = {"Content-Disposition": f'{disposition}; filename="{base}"', "X-Content-Type-Options": "nosniff"}
    if kind == "image/svg+xml":  # an uploaded SVG may carry script: never run it on this origin
        headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return Response(data, media_type=kind, headers=headers)


@router.get("/runs/{run_id}/files/{name:path}")
def run_file(request: Request, run_id: str, name: str) -> Response:
    """A file kept with the run."""
    signed_in(request)
    try:
        request.app.state.services.store.get_run(run_id)
    except HeadraceError as exc:
        return PlainTextResponse(str(exc), status_code=classify(exc)[0])
    return _file(run_id, request, name)


@router.get("/runs/{run_id}/steps/{step}/files/{name:path}")
def step_file(request: Request, run_id: str, step: str, name: str) -> Response:
    """A file kept with a step run."""
    signed_in(request)
    try:
        record = run_service.get_step_run(request.app.state.services, run_id, step)
    except HeadraceError as exc:
        return PlainTextResponse(str(exc), status_code=classify(exc)[0])
    return _file(record.id, request, name)
