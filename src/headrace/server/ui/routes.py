"""UI routes: sign-in and sign-out, and the pipeline endpoints page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from headrace import __version__
from headrace.server.ui import pages
from headrace.server.ui.session import (
    SESSION_COOKIE,
    SIGNIN_CSRF_COOKIE,
    Viewer,
    check_csrf,
    cookie_options,
    new_signin_csrf,
    viewer,
)
from headrace.services import tokens

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(include_in_schema=False)


def _page(request: Request, name: str, who: Viewer | None, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"viewer": who, "version": __version__, **context},
                                      status_code=status_code)


def _signin_redirect(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/signin?next={request.url.path}", status_code=303)


@router.get("/signin")
def signin_form(request: Request, next: str = "/", error: str = "") -> HTMLResponse:  # noqa: A002
    csrf = new_signin_csrf()
    response = _page(request, "signin.html", None, next=next if next.startswith("/") else "/", error=error,
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
    response = RedirectResponse(next if next.startswith("/") and not next.startswith("//") else "/",
                                status_code=303)
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
    who = viewer(request)
    if who is None:
        return _signin_redirect(request)
    status = status if status in ("active", "disabled", "all") else "active"
    rows = pages.endpoint_rows(request.app.state.services, status=status, query=q)
    return _page(request, "endpoints.html", who, rows=rows, status=status, q=q)
