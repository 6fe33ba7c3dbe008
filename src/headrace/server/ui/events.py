"""UI pages: webhooks (admin only: their URLs may carry credentials) with the delivery log, redeliver and
"send test event"; event triggers with their ticks and runs. Forms answer 303 back to the page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from headrace.core.events import EVENT_TYPES
from headrace.errors import HeadraceError, NotFoundError
from headrace.server.errors import classify
from headrace.server.ui.common import form_guard, not_found, page, signed_in
from headrace.services import policy, triggers, webhooks
from headrace.services.policy import Action
from headrace.storage.records import EntityStatus

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form()]


def _admin_only(request: Request) -> Response | None:
    who = signed_in(request)
    if not policy.allows(who.role, Action.MANAGE_WEBHOOKS):
        return page(request, "notfound.html", who, status_code=403,
                    what=f"Webhooks are an admin's: {policy.refusal(who.role, Action.MANAGE_WEBHOOKS, who.name)}.")
    return None


@router.get("/webhooks")
def webhooks_page(request: Request) -> Response:
    """Every subscription: target, events, filters, status."""
    if (refused := _admin_only(request)) is not None:
        return refused
    svc = request.app.state.services
    return page(request, "webhooks.html", signed_in(request), active="webhooks", hooks=webhooks.list_webhooks(svc),
                event_types=EVENT_TYPES)


@router.get("/webhooks/{key}")
def webhook_page(request: Request, key: str, error: str = "", status_code: int = 200) -> Response:
    """One subscription and its delivery log (status, attempts, response code, latency, last error)."""
    if (refused := _admin_only(request)) is not None:
        return refused
    who = signed_in(request)
    svc = request.app.state.services
    try:
        hook = webhooks.get_webhook(svc, key)
    except NotFoundError:
        return not_found(request, who, f"No webhook {key!r}; it may have been deleted.")
    return page(request, "webhook.html", who, status_code=status_code, active="webhooks", hook=hook,
                deliveries=webhooks.list_deliveries(svc, hook.id, limit=100), error=error)


def _webhook_form(request: Request, key: str, csrf: str, action: str, delivery_id: str = "") -> Response:
    form_guard(request, csrf, Action.MANAGE_WEBHOOKS)
    svc = request.app.state.services
    try:
        if action == "test":
            webhooks.send_test(svc, key)
        elif action == "redeliver":
            webhooks.redeliver(svc, key, delivery_id)
        else:
            webhooks.set_status(svc, key, EntityStatus.ACTIVE if action == "enable" else EntityStatus.DISABLED)
    except HeadraceError as exc:
        return webhook_page(request, key, error=f"Could not {action}: {exc}", status_code=classify(exc)[0])
    return RedirectResponse(f"/webhooks/{key}", status_code=303)


@router.post("/webhooks/{key}/test")
def send_test(request: Request, key: str, csrf: Csrf = "") -> Response:
    """Queue a webhook.test message (admin)."""
    return _webhook_form(request, key, csrf, "test")


@router.post("/webhooks/{key}/deliveries/{delivery_id}/redeliver")
def redeliver(request: Request, key: str, delivery_id: str, csrf: Csrf = "") -> Response:
    """Send a message again now, same webhook-id (admin)."""
    return _webhook_form(request, key, csrf, "redeliver", delivery_id)


@router.post("/webhooks/{key}/enable")
def enable_webhook(request: Request, key: str, csrf: Csrf = "") -> Response:
    return _webhook_form(request, key, csrf, "enable")


@router.post("/webhooks/{key}/disable")
def disable_webhook(request: Request, key: str, csrf: Csrf = "") -> Response:
    return _webhook_form(request, key, csrf, "disable")


@router.get("/triggers")
def triggers_page(request: Request) -> Response:
    """Every event trigger: its event, target, filters and status."""
    who = signed_in(request)
    return page(request, "triggers.html", who, active="triggers",
                items=triggers.list_triggers(request.app.state.services))


@router.get("/triggers/{key}")
def trigger_page(request: Request, key: str, error: str = "", status_code: int = 200) -> Response:
    """One trigger: its mapping, its evaluations (ticks) and the runs it started."""
    who = signed_in(request)
    svc = request.app.state.services
    try:
        item = triggers.get_trigger(svc, key)
    except NotFoundError:
        return not_found(request, who, f"No trigger {key!r}; it may have been deleted.")
    return page(request, "trigger.html", who, status_code=status_code, active="triggers", t=item,
                ticks=triggers.list_ticks(svc, item.id, limit=100), runs=triggers.list_runs(svc, item.id, limit=50),
                error=error)


def _trigger_form(request: Request, key: str, csrf: str, state: EntityStatus) -> Response:
    form_guard(request, csrf, Action.MANAGE_TRIGGERS)
    try:
        triggers.set_status(request.app.state.services, key, state)
    except HeadraceError as exc:
        return trigger_page(request, key, error=f"Could not change the trigger: {exc}", status_code=classify(exc)[0])
    return RedirectResponse(f"/triggers/{key}", status_code=303)


@router.post("/triggers/{key}/enable")
def enable_trigger(request: Request, key: str, csrf: Csrf = "") -> Response:
    return _trigger_form(request, key, csrf, EntityStatus.ACTIVE)


@router.post("/triggers/{key}/disable")
def disable_trigger(request: Request, key: str, csrf: Csrf = "") -> Response:
    return _trigger_form(request, key, csrf, EntityStatus.DISABLED)
