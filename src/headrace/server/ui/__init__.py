"""The web UI ("the studio"): server-rendered pages from templates and assets shipped in the package.

Nothing is fetched from the network: the CSS and the few scripts live in ``static/``.
Installed at ``/`` by ``server.app.create_app``; the REST API stays under ``/api/v1``.

One router module per area (``routes`` for sign-in and the endpoints list, then pipelines,
schedules, runs, experiments); each registers itself in ``ROUTERS``.
"""

from __future__ import annotations

import hashlib
import secrets

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from headrace.server.ui.common import STATIC_DIR, Denied
from headrace.server.ui.routes import ROUTERS

STYLESHEETS = ("headrace.css", "dag.css", "pipelines.css", "schedules.css", "runs.css", "compare.css")
"""Served as one ``/static/studio.css``: one request instead of three on the heaviest pages."""


def _studio_css() -> tuple[bytes, str]:
    body = b"\n".join(f"/* {name} */\n".encode() + (STATIC_DIR / name).read_bytes() for name in STYLESHEETS)
    return body, '"' + hashlib.sha256(body).hexdigest()[:16] + '"'


def install(app: FastAPI, local_secret: str | None = None) -> None:
    """Add the UI's routes, its static files at ``/static`` and the handler of its guards."""
    css, etag = _studio_css()
    # Without auth the CSRF value derives from this: random per process, so no page can know it.
    app.state.local_csrf_secret = local_secret or secrets.token_urlsafe(32)

    @app.get("/static/studio.css", include_in_schema=False)
    def studio_css(request: Request) -> Response:
        headers = {"ETag": etag, "Cache-Control": "public, max-age=86400"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(css, media_type="text/css", headers=headers)

    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.exception_handler(Denied)
    async def _denied(_request: Request, exc: Denied) -> Response:
        return exc.response


__all__ = ["STATIC_DIR", "install"]
