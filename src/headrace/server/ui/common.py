"""What every UI page shares: the templates, page rendering, and the guards for views and forms.

Pages call ``signed_in(request)`` (a viewer, or a redirect to the sign-in page). Forms that change
something call ``form_guard(request, csrf, action)``: it checks the session, the CSRF value and that
``headrace.services.policy`` lets the viewer's role do ``action`` (the same table as the REST API),
and answers 403 otherwise. Templates hide buttons with ``may(Action.X)``, but the server checks anyway.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from headrace import __version__
from headrace.server.ui import format as fmt
from headrace.server.ui.session import Viewer, check_csrf, viewer
from headrace.services import policy
from headrace.services.policy import Action

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=str(HERE / "templates"))
fmt.install(templates.env)


class Denied(Exception):
    """Raised by the guards; ``routes`` turns it into the response it carries."""

    def __init__(self, response: Response):
        super().__init__(response.status_code)
        self.response = response


def page(request: Request, name: str, who: Viewer | None, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render template ``name`` with the viewer, the version and ``context``."""
    def may(action: Action) -> bool:
        return who is not None and policy.allows(who.role, action)

    context = {"viewer": who, "version": __version__, "Action": Action, "may": may, **context}
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def signed_in(request: Request) -> Viewer:
    """The viewer of a page; without a session, raises ``Denied`` with a redirect to sign in."""
    who = viewer(request)
    if who is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise Denied(RedirectResponse(f"/signin?next={quote(target, safe='')}", status_code=303))
    return who


def form_guard(request: Request, csrf: str | None, action: Action) -> Viewer:
    """The viewer posting a form: signed in, with a valid CSRF value and a role allowed ``action`` (else 403)."""
    who = viewer(request)
    if who is None:
        raise Denied(Response("not signed in", status_code=403))
    if not check_csrf(csrf, who.csrf):
        raise Denied(Response("invalid CSRF token: reload the page and try again", status_code=403))
    if not policy.allows(who.role, action):
        raise Denied(Response(policy.refusal(who.role, action, who.name), status_code=403))
    return who


def not_found(request: Request, who: Viewer, what: str) -> HTMLResponse:
    """A 404 page that says what was not found."""
    return page(request, "notfound.html", who, status_code=404, what=what)
