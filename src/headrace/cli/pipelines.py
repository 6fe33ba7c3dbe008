"""``headrace pipeline ...`` (published pipelines) and ``headrace endpoint ...`` (pipeline endpoints)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from headrace.cli.common import (
    HomeOpt,
    JsonOpt,
    console,
    fmt_time,
    print_json,
    print_table,
    styled,
    workspace,
)
from headrace.errors import ConfigError

pipeline_app = typer.Typer(rich_markup_mode=None, add_completion=False, help="Published pipelines: list, show, submit, enable, disable.", no_args_is_help=True)
endpoint_app = typer.Typer(rich_markup_mode=None, add_completion=False, help="Versioned pipeline endpoints.", no_args_is_help=True)

ParamOpt = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", help="Parameter override name=value (repeatable); a data path as "
                 "name=datastore:path or name=relative/path."),
]
ExperimentOpt = Annotated[str, typer.Option("--experiment", "-e", help="Experiment to file the run under.")]
WaitOpt = Annotated[bool, typer.Option("--wait", help="Wait for the run to end, showing step progress.")]


def parse_params(items: list[str] | None) -> dict[str, str]:
    """``["a=1", "b=x"]`` -> ``{"a": "1", "b": "x"}``; values are converted to the declared types later."""
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"invalid --param {item!r}: use name=value")
        out[name.strip()] = value
    return out


def _published_row(p: Any) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "version": p.version, "status": p.status, "description": p.description,
            "endpoint": p.endpoint}


def _finish(run: Any, wait: bool, json_: bool) -> None:
    if wait:
        status = run.wait_for_completion(show_output=not json_, raise_on_error=False)
        if json_:
            print_json({"id": run.id, "status": status})
        else:
            console.print(f"run {run.id}: {styled(status)}")
        if status not in ("Finished", "Completed"):
            raise typer.Exit(1)
    elif json_:
        print_json({"id": run.id, "status": run.get_status(), "experiment": run.experiment.name})
    else:
        console.print(f"queued run {run.id} (experiment {run.experiment.name}); follow it with "
                      f"`headrace run wait {run.id}`")


@pipeline_app.command("list")
def pipeline_list(home: HomeOpt = None, all_: Annotated[bool, typer.Option("--all", help="Include disabled.")] = False,
                  json_: JsonOpt = False) -> None:
    """List published pipelines."""
    from headrace.sdk.published import PublishedPipeline

    items = PublishedPipeline.list(workspace(home), active_only=not all_)
    if json_:
        print_json([_published_row(p) for p in items])
        return
    print_table("Published pipelines", ("Id", "Name", "Version", "Status", "Description"),
                ((p.id, p.name, p.version or "-", styled(p.status), p.description or "") for p in items))


@pipeline_app.command("show")
def pipeline_show(pipeline_id: str, home: HomeOpt = None, json_: JsonOpt = False) -> None:
    """Show a published pipeline: its REST endpoint, parameters and steps."""
    from headrace.sdk.published import PublishedPipeline

    p = PublishedPipeline.get(workspace(home), pipeline_id)
    if json_:
        print_json({**_published_row(p), "parameters": p.parameters, "steps": p.get_step_names()})
        return
    console.print(f"[bold]{p.name}[/bold] {p.version or ''}  {styled(p.status)}  id {p.id}")
    console.print(f"endpoint: {p.endpoint}", soft_wrap=True)
    print_table("Parameters", ("Name", "Type", "Default"),
                ((name, spec["type"], str(spec.get("default"))) for name, spec in p.parameters.items()))
    console.print("steps: " + " → ".join(p.get_step_names()))


@pipeline_app.command("submit")
def pipeline_submit(pipeline_id: str, experiment: ExperimentOpt, params: ParamOpt = None, wait: WaitOpt = False,
                    home: HomeOpt = None, json_: JsonOpt = False) -> None:
    """Submit a run of a published pipeline with parameter overrides."""
    from headrace.sdk.published import PublishedPipeline

    ws = workspace(home)
    run = PublishedPipeline.get(ws, pipeline_id).submit(ws, experiment, pipeline_parameters=parse_params(params))
    _finish(run, wait, json_)


def _set_pipeline_status(pipeline_id: str, enable: bool, home: Any, json_: bool) -> None:
    from headrace.sdk.published import PublishedPipeline

    p = PublishedPipeline.get(workspace(home), pipeline_id)
    p.enable() if enable else p.disable()
    if json_:
        print_json(_published_row(p))
    else:
        console.print(f"published pipeline {p.name} ({p.id}): {styled(p.status)}")


@pipeline_app.command("enable")
def pipeline_enable(pipeline_id: str, home: HomeOpt = None, json_: JsonOpt = False) -> None:
    """Enable a published pipeline."""
    _set_pipeline_status(pipeline_id, True, home, json_)


@pipeline_app.command("disable")
def pipeline_disable(pipeline_id: str, home: HomeOpt = None, json_: JsonOpt = False) -> None:
    """Disable a published pipeline (refused while active schedules use it)."""
    _set_pipeline_status(pipeline_id, False, home, json_)


# -- endpoints -------------------------------------------------------------------------------
def _endpoint(ws: Any, key: str) -> Any:
    """An endpoint by id, else by name."""
    from headrace.errors import NotFoundError
    from headrace.sdk.published import PipelineEndpoint

    try:
        return PipelineEndpoint.get(ws, id=key)
    except NotFoundError:
        return PipelineEndpoint.get(ws, name=key)


def _endpoint_row(ep: Any) -> dict[str, Any]:
    return {"id": ep.id, "name": ep.name, "status": ep.status, "default_version": ep.default_version,
            "description": ep.description, "endpoint": ep.endpoint,
            "versions": [{"version": v, "pipeline_id": p} for v, p in ep.pipeline_version_list]}


@endpoint_app.command("list")
def endpoint_list(home: HomeOpt = None, all_: Annotated[bool, typer.Option("--all", help="Include disabled.")] = False,
                  json_: JsonOpt = False) -> None:
    """List pipeline endpoints."""
    from headrace.sdk.published import PipelineEndpoint

    items = PipelineEndpoint.list(workspace(home), active_only=not all_)
    if json_:
        print_json([_endpoint_row(e) for e in items])
        return
    print_table("Pipeline endpoints", ("Id", "Name", "Status", "Default", "Versions"),
                ((e.id, e.name, styled(e.status), e.default_version, str(len(e.pipeline_version_list)))
                 for e in items))


@endpoint_app.command("show")
def endpoint_show(endpoint: str, home: HomeOpt = None, json_: JsonOpt = False) -> None:
    """Show an endpoint (id or name): URL and versions, the default marked."""
    ep = _endpoint(workspace(home), endpoint)
    if json_:
        print_json(_endpoint_row(ep))
        return
    console.print(f"[bold]{ep.name}[/bold]  {styled(ep.status)}  id {ep.id}")
    console.print(f"endpoint: {ep.endpoint}", soft_wrap=True)
    rows = []
    for v in ep._record.versions:
        p = ep.get_pipeline(v.version)
        mark = " (default)" if v.version == ep.default_version else ""
        rows.append((v.version + mark, p.id, p.name, p.version or "-", fmt_time(v.added_at)))
    print_table("Versions", ("Version", "Published pipeline", "Name", "Pipeline version", "Added"), rows)


@endpoint_app.command("submit")
def endpoint_submit(endpoint: str, experiment: ExperimentOpt, params: ParamOpt = None,
                    version: Annotated[str | None, typer.Option("--version", help="Pipeline version (default: the endpoint's default).")] = None,
                    wait: WaitOpt = False, home: HomeOpt = None, json_: JsonOpt = False) -> None:
    """Submit a run through an endpoint (id or name)."""
    ep = _endpoint(workspace(home), endpoint)
    run = ep.submit(experiment, pipeline_parameters=parse_params(params), pipeline_version=version)
    _finish(run, wait, json_)


@endpoint_app.command("set-default")
def endpoint_set_default(endpoint: str, version: str, home: HomeOpt = None, json_: JsonOpt = False) -> None:
    """Make VERSION the endpoint's default."""
    ep = _endpoint(workspace(home), endpoint)
    ep.set_default_version(version)
    print_json(_endpoint_row(ep)) if json_ else console.print(f"{ep.name}: default version {ep.default_version}")


@endpoint_app.command("add")
def endpoint_add(endpoint: str, pipeline_id: str,
                 default: Annotated[bool, typer.Option("--default", help="Also make it the default.")] = False,
                 home: HomeOpt = None, json_: JsonOpt = False) -> None:
    """Add a published pipeline as the endpoint's next version."""
    from headrace.sdk.published import PublishedPipeline

    ws = workspace(home)
    ep = _endpoint(ws, endpoint)
    published = PublishedPipeline.get(ws, pipeline_id)
    ep.add_default(published) if default else ep.add(published)
    if json_:
        print_json(_endpoint_row(ep))
    else:
        console.print(f"{ep.name}: versions {', '.join(v for v, _ in ep.pipeline_version_list)}; "
                      f"default {ep.default_version}")


@endpoint_app.command("create")
def endpoint_create(name: str, pipeline_id: str,
                    description: Annotated[str | None, typer.Option(help="Endpoint description.")] = None,
                    home: HomeOpt = None, json_: JsonOpt = False) -> None:
    """Create an endpoint whose version 0 is a published pipeline."""
    from headrace.sdk.published import PipelineEndpoint, PublishedPipeline

    ws = workspace(home)
    ep = PipelineEndpoint.publish(ws, name, description, PublishedPipeline.get(ws, pipeline_id))
    print_json(_endpoint_row(ep)) if json_ else console.print(f"created endpoint {ep.name} ({ep.id}): {ep.endpoint}")
