"""``headrace webhook create|list|show|deliveries|redeliver|test|enable|disable|delete`` and
``headrace trigger create|list|show|ticks|runs|enable|disable|delete|post``."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from headrace.cli.common import HomeOpt, JsonOpt, print_json, print_table, workspace
from headrace.errors import ConfigError

webhook_app = typer.Typer(help="Webhook subscriptions: signed event messages and notifications.",
                          no_args_is_help=True)
trigger_app = typer.Typer(help="Event triggers: start a published pipeline when an event arrives.",
                          no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="Name (or id).")]
EventsOpt = Annotated[list[str], typer.Option("--event", "-e", help="An event type (repeat for several).")]
FilterOpt = Annotated[list[str] | None, typer.Option("--filter", help="KEY=VALUE (repeat): experiment, pipeline, "
                                                                      "endpoint, model, status or a data field.")]
ParamOpt = Annotated[list[str] | None, typer.Option("--param", "-p", help="NAME=VALUE (repeat); VALUE may be "
                                                                         "'@triggerBody().data.url'.")]


def _pairs(items: list[str] | None, what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"{what} {item!r}: write KEY=VALUE")
        try:
            out[key] = json.loads(value) if value[:1] in "[{0123456789-" or value in ("true", "false") else value
        except ValueError:
            out[key] = value
    return out


def _webhook_row(hook: Any) -> dict[str, Any]:
    r = hook._record
    return {"id": r.id, "name": r.name, "status": r.status.value, "url": r.url, "apprise_url": r.apprise_url,
            "events": r.events, "filters": r.filters, "description": r.description,
            "created_at": r.created_at.isoformat()}


def _delivery_row(d: Any) -> dict[str, Any]:
    return {"id": d.id, "event_type": d.event_type, "event_id": d.event_id, "status": d.status.value,
            "attempts": d.attempts, "response_code": d.response_code, "latency_ms": d.latency_ms,
            "last_error": d.last_error, "created_at": d.created_at.isoformat(),
            "next_attempt_at": d.next_attempt_at.isoformat()}


@webhook_app.command("create")
def webhook_create(
    name: Annotated[str, typer.Argument(help="A unique name.")],
    event: EventsOpt,
    url: Annotated[str | None, typer.Option("--url", help="http(s) URL receiving signed messages.")] = None,
    apprise_url: Annotated[str | None, typer.Option("--apprise-url", help="Apprise URL (slack://, mailto://, "
                                                                          "json://...) for notifications.")] = None,
    filter_: FilterOpt = None,
    secret: Annotated[str | None, typer.Option("--secret", help="whsec_<base64>; drawn when left out.")] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    home: HomeOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Subscribe a URL to events; prints the signing secret once, alone on its last line."""
    from headrace.sdk.events import Webhook

    hook = Webhook.create(workspace(home), name, url=url, apprise_url=apprise_url, events=event,
                          filters=_pairs(filter_, "--filter"), secret=secret, description=description)
    if json_:
        print_json({**_webhook_row(hook), "secret": hook.secret})
        return
    typer.echo(f"webhook {hook.name!r} ({hook.id}) for {', '.join(hook.events)}; its signing secret "
               "(shown only now):")
    typer.echo(hook.secret)


@webhook_app.command("list")
def webhook_list(home: HomeOpt = None, json_: JsonOpt = False) -> None:
    """List webhook subscriptions."""
    from headrace.sdk.events import Webhook

    hooks = Webhook.list(workspace(home))
    if json_:
        print_json([_webhook_row(h) for h in hooks])
        return
    print_table("Webhooks", ("Name", "Status", "Target", "Events", "Filters"),
                ((h.name, h.status, h.url or "(apprise)", ", ".join(h.events),
                  ", ".join(f"{k}={v}" for k, v in h.filters.items())) for h in hooks))


@webhook_app.command("show")
def webhook_show(name: NameArg, home: HomeOpt = None, json_: JsonOpt = False) -> None:
    """A subscription and its latest deliveries."""
    from headrace.sdk.events import Webhook

    hook = Webhook.get(workspace(home), name)
    row = {**_webhook_row(hook), "deliveries": [_delivery_row(d) for d in hook.get_deliveries(limit=10)]}
    if json_:
        print_json(row)
        return
    for key, value in row.items():
        if key != "deliveries":
            typer.echo(f"{key}: {value}")
    _deliveries_table(hook.get_deliveries(limit=10))


def _deliveries_table(items: list[Any]) -> None:
    print_table("Deliveries", ("Id (webhook-id)", "Event", "Status", "Attempts", "Code", "Latency ms", "Last error"),
                ((d.id, d.event_type, d.status.value, str(d.attempts), str(d.response_code or ""),
                  f"{d.latency_ms:.1f}" if d.latency_ms is not None else "", (d.last_error or "")[:80])
                 for d in items))


@webhook_app.command("deliveries")
def webhook_deliveries(name: NameArg, limit: Annotated[int, typer.Option("--limit")] = 50, home: HomeOpt = None,
                       json_: JsonOpt = False) -> None:
    """The delivery log: status, attempts, response code, latency and last error of each message."""
    from headrace.sdk.events import Webhook

    items = Webhook.get(workspace(home), name).get_deliveries(limit=limit)
    if json_:
        print_json([_delivery_row(d) for d in items])
    else:
        _deliveries_table(items)


@webhook_app.command("redeliver")
def webhook_redeliver(name: NameArg, delivery_id: Annotated[str, typer.Argument()], home: HomeOpt = None) -> None:
    """Send a message again now (same webhook-id)."""
    from headrace.sdk.events import Webhook

    d = Webhook.get(workspace(home), name).redeliver(delivery_id)
    typer.echo(f"delivery {d.id} queued again")


@webhook_app.command("test")
def webhook_test(name: NameArg, home: HomeOpt = None) -> None:
    """Queue a webhook.test message to the subscription."""
    from headrace.sdk.events import Webhook

    d = Webhook.get(workspace(home), name).send_test()
    typer.echo(f"test delivery {d.id} queued; see `headrace webhook deliveries {name}`")


@webhook_app.command("enable")
def webhook_enable(name: NameArg, home: HomeOpt = None) -> None:
    from headrace.sdk.events import Webhook

    Webhook.get(workspace(home), name).enable()
    typer.echo(f"webhook {name!r} enabled")


@webhook_app.command("disable")
def webhook_disable(name: NameArg, home: HomeOpt = None) -> None:
    from headrace.sdk.events import Webhook

    Webhook.get(workspace(home), name).disable()
    typer.echo(f"webhook {name!r} disabled")


@webhook_app.command("delete")
def webhook_delete(name: NameArg, home: HomeOpt = None) -> None:
    """Delete a subscription and its delivery log."""
    from headrace.sdk.events import Webhook

    Webhook.get(workspace(home), name).delete()
    typer.echo(f"deleted webhook {name!r}")


# -- triggers ---------------------------------------------------------------------------------

def _trigger_row(t: Any) -> dict[str, Any]:
    r = t._record
    return {"id": r.id, "name": r.name, "event": r.event, "status": r.status.value,
            "experiment_name": r.experiment_name, "pipeline_id": r.published_pipeline_id,
            "pipeline_endpoint_id": r.pipeline_endpoint_id, "filters": r.filters,
            "pipeline_parameters": r.parameters, "description": r.description}


@trigger_app.command("create")
def trigger_create(
    name: Annotated[str, typer.Argument(help="A unique name (also in the events URL of an http trigger).")],
    event: Annotated[str, typer.Option("--event", "-e", help="A headrace event type, or 'http'.")],
    experiment: Annotated[str, typer.Option("--experiment", help="Experiment of the runs.")],
    pipeline_id: Annotated[str | None, typer.Option("--pipeline-id", help="A published pipeline id.")] = None,
    endpoint_id: Annotated[str | None, typer.Option("--endpoint-id", help="A pipeline endpoint id.")] = None,
    filter_: FilterOpt = None,
    param: ParamOpt = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    home: HomeOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Start a published pipeline (or an endpoint's default version) on an event."""
    from headrace.sdk.events import Trigger

    trig = Trigger.create(workspace(home), name, event=event, pipeline_id=pipeline_id,
                          pipeline_endpoint_id=endpoint_id, experiment_name=experiment,
                          filters=_pairs(filter_, "--filter"), pipeline_parameters=_pairs(param, "--param"),
                          description=description)
    if json_:
        print_json(_trigger_row(trig))
    else:
        where = f"; post events to /api/v1/triggers/{trig.name}/events" if trig.event == "http" else ""
        typer.echo(f"trigger {trig.name!r} ({trig.id}) on {trig.event}{where}")


@trigger_app.command("list")
def trigger_list(home: HomeOpt = None, json_: JsonOpt = False) -> None:
    from headrace.sdk.events import Trigger

    items = Trigger.list(workspace(home))
    if json_:
        print_json([_trigger_row(t) for t in items])
        return
    print_table("Triggers", ("Name", "Event", "Status", "Target", "Experiment"),
                ((t.name, t.event, t.status, t.pipeline_id or f"endpoint {t.pipeline_endpoint_id}", t.experiment_name)
                 for t in items))


@trigger_app.command("show")
def trigger_show(name: NameArg, home: HomeOpt = None, json_: JsonOpt = False) -> None:
    """A trigger and its latest ticks."""
    from headrace.sdk.events import Trigger

    trig = Trigger.get(workspace(home), name)
    ticks = [{"evaluated_at": k.evaluated_at.isoformat(), "outcome": k.outcome, "event_id": k.event_id,
              "reason": k.reason, "run_ids": k.run_ids} for k in trig.get_ticks(limit=10)]
    if json_:
        print_json({**_trigger_row(trig), "ticks": ticks})
        return
    for key, value in _trigger_row(trig).items():
        typer.echo(f"{key}: {value}")
    for k in ticks:
        typer.echo(f"  {k['evaluated_at']} {k['outcome']} {k['event_id']} {' '.join(k['run_ids'])} {k['reason']}")


@trigger_app.command("ticks")
def trigger_ticks(name: NameArg, limit: Annotated[int, typer.Option("--limit")] = 50, home: HomeOpt = None,
                  json_: JsonOpt = False) -> None:
    """Every evaluation: fired, skipped or failed, and why."""
    from headrace.sdk.events import Trigger

    ticks = Trigger.get(workspace(home), name).get_ticks(limit=limit)
    rows = [{"evaluated_at": k.evaluated_at.isoformat(), "outcome": k.outcome, "event_id": k.event_id,
             "reason": k.reason, "run_ids": k.run_ids} for k in ticks]
    if json_:
        print_json(rows)
        return
    for k in rows:
        typer.echo(f"{k['evaluated_at']} {k['outcome']} {k['event_id']} {' '.join(k['run_ids'])} {k['reason']}")


@trigger_app.command("post")
def trigger_post(name: NameArg, body: Annotated[str, typer.Argument(help="The event as JSON, or @file.json.")],
                 home: HomeOpt = None) -> None:
    """Post an event to an http trigger (as POST /api/v1/triggers/{name}/events does)."""
    from pathlib import Path

    from headrace.sdk.events import Trigger

    text = Path(body[1:]).read_text() if body.startswith("@") else body
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"the event is not JSON: {exc}") from None
    print_json(Trigger.get(workspace(home), name).post_event(data))


def _set(name: str, home: Any, enabled: bool) -> None:
    from headrace.sdk.events import Trigger

    trig = Trigger.get(workspace(home), name)
    trig.enable() if enabled else trig.disable()
    typer.echo(f"trigger {name!r} {'enabled' if enabled else 'disabled'}")


@trigger_app.command("enable")
def trigger_enable(name: NameArg, home: HomeOpt = None) -> None:
    _set(name, home, True)


@trigger_app.command("disable")
def trigger_disable(name: NameArg, home: HomeOpt = None) -> None:
    _set(name, home, False)


@trigger_app.command("delete")
def trigger_delete(name: NameArg, home: HomeOpt = None) -> None:
    """Delete a trigger and its ticks (its runs stay)."""
    from headrace.sdk.events import Trigger

    Trigger.get(workspace(home), name).delete()
    typer.echo(f"deleted trigger {name!r}")
