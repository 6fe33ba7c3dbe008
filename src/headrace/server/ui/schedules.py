"""UI pages: the schedules list, one schedule's page, and the enable/disable forms.

Enabling and disabling need the admin role (``Action.MANAGE_SCHEDULES``, as over REST); the buttons
are hidden from other roles and ``form_guard`` refuses their posts anyway. A form answers 303 back to the page it was
posted from; a refusal by the services (e.g. a watched folder that vanished) is shown on the
schedule's page with the status the REST API would give.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from headrace import clock
from headrace.errors import HeadraceError, NotFoundError
from headrace.server.errors import classify
from headrace.server.ui import schedule_data as data
from headrace.server.ui.common import form_guard, not_found, page, signed_in
from headrace.server.ui.session import Viewer
from headrace.services import schedules
from headrace.services.policy import Action
from headrace.storage.records import EntityStatus

router = APIRouter(include_in_schema=False)


def _number(value: str, default: int = 1) -> int:
    try:
        return max(int(value), 1)
    except ValueError:
        return default


def _back(target: str, schedule_id: str) -> str:
    """Where a form returns: the local page it came from, else the schedule's page."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return f"/schedules/{schedule_id}"


@router.get("/schedules")
def schedules_page(request: Request, status: str = "all", q: str = "", target: str = "",
                   page_no: Annotated[str, Query(alias="page")] = "1") -> Response:
    """Every schedule, filtered and paged, with its trigger in words and its next run."""
    who = signed_in(request)
    status = status if status in data.STATUSES else "all"
    listing = data.schedule_list(request.app.state.services, status=status, query=q, target=target,
                                 page=_number(page_no))
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return page(request, "schedules.html", who, active="schedules", listing=listing, status=status, q=q,
                target=target, here=here)


@router.get("/schedules/{schedule_id}")
def schedule_page(request: Request, schedule_id: str, ticks: str = "1") -> Response:
    """One schedule: what and when, its parameters, next run times, evaluations (page ``ticks``) and runs."""
    who = signed_in(request)
    return _detail(request, who, schedule_id, tick_page=_number(ticks))


def _detail(request: Request, who: Viewer, schedule_id: str, *, tick_page: int = 1, error: str = "",
            status_code: int = 200) -> Response:
    try:
        detail = data.schedule_detail(request.app.state.services, schedule_id, tick_page=tick_page)
    except NotFoundError:
        return not_found(request, who, f"No schedule with id {schedule_id!r}; it may have been deleted.")
    return page(request, "schedule.html", who, status_code=status_code, active="schedules", d=detail,
                s=detail.row, error=error, here=f"/schedules/{schedule_id}", now=clock.now())


def _set_status(request: Request, schedule_id: str, csrf: str, target: str, state: EntityStatus) -> Response:
    who = form_guard(request, csrf, Action.MANAGE_SCHEDULES)
    try:
        schedules.set_status(request.app.state.services, schedule_id, state)
    except NotFoundError:
        return not_found(request, who, f"No schedule with id {schedule_id!r}; it may have been deleted.")
    except HeadraceError as exc:
        verb = "enable" if state is EntityStatus.ACTIVE else "disable"
        return _detail(request, who, schedule_id, error=f"Could not {verb} the schedule: {exc}",
                       status_code=classify(exc)[0])
    return RedirectResponse(_back(target, schedule_id), status_code=303)


@router.post("/schedules/{schedule_id}/enable")
def enable(request: Request, schedule_id: str, csrf: Annotated[str, Form()] = "",
           next: Annotated[str, Form()] = "") -> Response:  # noqa: A002
    """Enable a schedule (admin); it fires from now on."""
    return _set_status(request, schedule_id, csrf, next, EntityStatus.ACTIVE)


@router.post("/schedules/{schedule_id}/disable")
def disable(request: Request, schedule_id: str, csrf: Annotated[str, Form()] = "",
            next: Annotated[str, Form()] = "") -> Response:  # noqa: A002
    """Disable a schedule (admin)."""
    return _set_status(request, schedule_id, csrf, next, EntityStatus.DISABLED)
