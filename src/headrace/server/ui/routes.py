"""UI routes: sign-in and sign-out, and the pipeline endpoints page. ``ROUTERS`` lists every area."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from headrace.server.ui import pages
from headrace.server.ui.common import page, signed_in
from headrace.server.ui.session import (
    SESSION_COOKIE,
    SIGNIN_CSRF_COOKIE,
    check_csrf,
    cookie_options,
    new_signin_csrf,
    viewer,
)
from headrace.services import tokens

router = APIRouter(include_in_schema=False)


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.get("/signin")
def signin_form(request: Request, next: str = "/", error: str = "") -> HTMLResponse:  # noqa: A002
    csrf = new_signin_csrf()
    response = page(request, "signin.html", None, next=_safe_next(next), error=error,
                    csrf=csrf, status_code=401 if error else 200)
    response.set_cookie(SIGNIN_CSRF_COOKIE, csrf, max_age=3600, **cookie_options(request))
    return response


@router.post("/signin")
def signin(request: Request, token: Annotated[str, Form()] = "", csrf: Annotated[str, Form()] = "",
           next: Annotated[str, Form()] = "/") -> Response:  # noqa: A002
    if not check_csrf(csrf, request.cookies.get(SIGNIN_CSRF_COOKIE, "")):
        return signin_form(request, next, "The form expired; sign in again.")
    record = tokens.authenticate(request.app.state.services, token.strip())
    if record is None:
        return signin_form(request, next, "Unknown or revoked token.")
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, token.strip(), **cookie_options(request))
    response.delete_cookie(SIGNIN_CSRF_COOKIE, path="/")
    return response


@router.post("/signout")
def signout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    who = viewer(request)
    if who is not None and not check_csrf(csrf, who.csrf):
        return Response("invalid CSRF token", status_code=403)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/", response_class=HTMLResponse)
def endpoints_page(request: Request, status: str = "active", q: str = "") -> Response:
    who = signed_in(request)
    status = status if status in ("active", "disabled", "all") else "active"
    rows = pages.endpoint_rows(request.app.state.services, status=status, query=q)
    return page(request, "endpoints.html", who, active="endpoints", rows=rows, status=status, q=q)


ROUTERS: list[APIRouter] = [router]
"""Every UI router, in order; area modules are appended below."""

from headrace.server.ui import (  # noqa: E402  (areas import common, not routes)
    compare,
    data,
    events,
    experiments,
    flows,
    models,
    pipelines,
    run_files,
    runs,
    schedules,
)

ROUTERS += [pipelines.router, schedules.router, runs.router, run_files.router, experiments.router, flows.router,
            data.router, models.router, compare.router, events.router]
