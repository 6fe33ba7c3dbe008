"""``headrace flow serve`` (one flow behind ``POST /score``) and ``headrace flow publish`` / ``list-published``
(versions of a flow on the workspace's server, scored at ``/api/v1/flows/{name}/score``).

``publish`` works on the local home (the services are called directly) or, with a remote workspace
(``HEADRACE_URL`` + ``HEADRACE_TOKEN``, or ``.headrace/config.json``), uploads the folder's snapshot to
the server and publishes it there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from headrace.cli.common import (
    HomeOpt,
    JsonOpt,
    console,
    err_console,
    fmt_time,
    new_table,
    print_json,
    styled,
    workspace,
)
from headrace.cli.flow_batch import InitOpt, VariantOpt, read_init

FolderArg = Annotated[Path, typer.Argument(help="The flow folder (with flow.yaml).", exists=True, file_okay=False)]
EntryArg = Annotated[Path, typer.Argument(
    help="The flow folder (flow.yaml or flow.flex.yaml), or a .prompty file.", exists=True)]


def serve(
    folder: EntryArg,
    host: Annotated[str, typer.Option(help="Address to bind (there is no authentication: keep it loopback "
                                           "unless a proxy guards it).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8080,
    timeout: Annotated[float | None, typer.Option(help="Fail a line after this many seconds.")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level: warning, info (each request), debug.")] = "info",
    home: HomeOpt = None,
    init: InitOpt = None,
    variant: VariantOpt = None,
) -> None:
    """Serve the flow over HTTP: POST /score (JSON in, JSON out; SSE with Accept: text/event-stream), GET /health.

    LLM nodes use the connections stored in the home (`headrace connection create`) or defined by
    HEADRACE_CONNECTION_<NAME>_* environment variables.
    """
    import uvicorn

    from headrace.cli.server import is_loopback, local_url
    from headrace.flows.batch import needs_llm
    from headrace.flows.executor import load_flow
    from headrace.server.flow_app import create_flow_app
    from headrace.server.http_protocol import HTTP_PROTOCOL

    flow = load_flow(folder, init=read_init(init), variant=variant)
    llm = None
    if needs_llm(flow.spec):
        from headrace.config import load_settings
        from headrace.services.connections import llm_runner
        from headrace.wiring import build_services

        llm = llm_runner(build_services(load_settings(home=home)))
    if not is_loopback(host):
        err_console.print(f"[yellow]warning:[/yellow] serving on {host!r} without authentication: anyone who "
                          "reaches it can spend your model tokens")
    app = create_flow_app(flow, llm, timeout=timeout, local_only=is_loopback(host))
    err_console.print(f"serving flow {flow.name} on {local_url(host, port)}/score (Ctrl+C stops)")
    uvicorn.run(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=5, http=HTTP_PROTOCOL)


def publish(
    folder: FolderArg,
    name: Annotated[str, typer.Option("--name", "-n", help="The published flow's name (created on first publish).")],
    version: Annotated[int | None, typer.Option(min=1, help="Version number (default: the next one).")] = None,
    description: Annotated[str | None, typer.Option(help="What this version is (default: the flow's "
                                                         "description).")] = None,
    no_default: Annotated[bool, typer.Option("--no-default", help="Keep the current default version.")] = False,
    home: HomeOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Publish the flow folder as a new version of NAME on the workspace (local home or server).

    It is then scored with POST /api/v1/flows/NAME/score (submitter token) on the server.
    """
    ws = workspace(home)
    if ws.is_remote:
        from headrace.datastores.snapshots import store_snapshot
        from headrace.flows.spec import load_spec
        from headrace.schemas.flows import FlowPublish
        from headrace.sdk.remote_datastore import SnapshotUploads

        load_spec(folder)  # report a broken flow before uploading anything
        client = ws._backend.client
        digest = store_snapshot(folder, SnapshotUploads(client))
        read = client.publish_flow(FlowPublish(Name=name, SnapshotDigest=digest, Version=version,
                                               Description=description, MakeDefault=not no_default))
        row = _wire_row(read)
    else:
        from headrace.services import flows

        record = flows.publish_folder(ws._backend.svc, folder, name=name, version=version,
                                      description=description, make_default=not no_default)
        row = _record_row(record, _server_url(ws.home))
    published = version if version is not None else max(v["version"] for v in row["versions"])
    if json_:
        print_json({**row, "published_version": published})
        return
    console.print(f"published flow [bold]{row['name']}[/bold] version {published} (default version "
                  f"{row['default_version']})")
    console.print(f"score it: POST {row['endpoint']}")


def list_published(
    home: HomeOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="Include disabled flows.")] = False,
    json_: JsonOpt = False,
) -> None:
    """List the flows published on the workspace, with their versions."""
    ws = workspace(home)
    if ws.is_remote:
        rows = [_wire_row(r) for r in ws._backend.client.list_flows(active_only=not all_)]
    else:
        from headrace.services import flows

        base = _server_url(ws.home)
        rows = [_record_row(r, base) for r in flows.list_flows(ws._backend.svc, active_only=not all_)]
    if json_:
        print_json(rows)
        return
    table = new_table(title="Published flows")
    for column in ("Name", "Status", "Default", "Versions", "Updated", "Description"):
        table.add_column(column)
    for row in rows:
        versions = ", ".join(str(v["version"]) for v in row["versions"])
        table.add_row(row["name"], styled(row["status"]), str(row["default_version"]), versions,
                      fmt_time(row["updated"]), row["description"] or "")
    console.print(table)


def _server_url(home: Path | None) -> str:
    """The local server's address from the home's ``config.json`` (written by ``headrace server``), or ''."""
    import json

    try:
        data = json.loads((Path(home or ".") / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    return str(data.get("server_url") or "").rstrip("/") if isinstance(data, dict) else ""


def _record_row(record: Any, base: str) -> dict[str, Any]:
    default = record.version()
    return {
        "name": record.name, "status": record.status.value, "default_version": record.default_version,
        "description": default.description if default else None, "endpoint": f"{base}/api/v1/flows/{record.name}/score",
        "updated": record.updated_at,
        "versions": [{"version": v.version, "snapshot": v.snapshot, "description": v.description,
                      "created": v.created_at, "interface": v.interface} for v in record.versions],
    }


def _wire_row(read: Any) -> dict[str, Any]:
    return {
        "name": read.Name, "status": read.Status, "default_version": read.DefaultVersion,
        "description": read.Description, "endpoint": read.Endpoint, "updated": read.UpdatedTime,
        "versions": [{"version": v.Version, "snapshot": v.SnapshotDigest, "description": v.Description,
                      "created": v.CreatedTime, "interface": v.Interface} for v in read.Versions],
    }
