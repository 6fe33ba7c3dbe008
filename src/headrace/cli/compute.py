"""``headrace compute list|show|create|delete``: the workspace's named compute targets."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from headrace.cli.common import HomeOpt, JsonOpt, console, print_json, workspace
from headrace.services.compute_dask import parse_resources
from headrace.storage.records import ComputeTargetRecord

compute_app = typer.Typer(help="Compute targets: names steps give as compute_target.", no_args_is_help=True)


def _row(record: ComputeTargetRecord) -> dict[str, Any]:
    return {"name": record.name, "type": record.type, "config": dict(record.config),
            "description": record.description}


@compute_app.command("list")
def list_targets(home: HomeOpt = None, json_: JsonOpt = False) -> None:
    """List compute targets ("local" always among them)."""
    records = workspace(home)._backend.list_compute_targets()
    if json_:
        print_json([_row(r) for r in records])
        return
    table = Table(title="Compute targets")
    for col in ("Name", "Type", "Max parallel steps", "Settings"):
        table.add_column(col)
    for r in records:
        rest = {k: v for k, v in r.config.items() if k not in ("max_nodes", "max_parallel_steps")
                and v not in (None, "", {}, [])}
        limit = r.config.get("max_nodes") or r.config.get("max_parallel_steps") or "agent's limit"
        table.add_row(r.name, r.type, str(limit),
                      ", ".join(f"{k}={v}" for k, v in rest.items()))
    console.print(table)


@compute_app.command("show")
def show(name: Annotated[str, typer.Argument()], home: HomeOpt = None, json_: JsonOpt = False) -> None:
    """Show one compute target and its settings."""
    record = workspace(home)._backend.get_compute_target(name)
    if json_:
        print_json(_row(record))
        return
    typer.echo(f"name: {record.name}\ntype: {record.type}")
    if record.description:
        typer.echo(f"description: {record.description}")
    for key, value in sorted(record.config.items()):
        typer.echo(f"{key}: {value}")


@compute_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="The name steps and AmlCompute(ws, name) use.")],
    type_: Annotated[str, typer.Option("--type", help="AmlCompute (runs on the agent), dask (a Dask cluster) "
                                       "or local.")] = "AmlCompute",
    max_nodes: Annotated[int | None, typer.Option("--max-nodes", help="Most steps of a run at once.")] = None,
    vm_size: Annotated[str, typer.Option("--vm-size", help="Recorded only.")] = "",
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="dask: the scheduler address, "
                                                  "tcp://host:8786.")] = None,
    resources: Annotated[list[str] | None, typer.Option("--resources", help="dask: a resource every step asks "
                                                        "for, NAME=AMOUNT (repeatable), e.g. GPU=1.")] = None,
    retries: Annotated[int | None, typer.Option("--retries", help="dask: runs again of a step whose worker "
                                                "died (default 1).")] = None,
    connect_timeout: Annotated[float | None, typer.Option("--connect-timeout", help="dask: seconds to reach the "
                                                          "scheduler before a step fails (default 10).")] = None,
    mounted_path: Annotated[list[str] | None, typer.Option("--mounted-path", help="dask: a local folder every "
                                                           "worker mounts at the same path (repeatable).")] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Replace a target of that name.")] = False,
    home: HomeOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Configure a compute target; scripts that provision the same name then get this one as it is."""
    backend = workspace(home)._backend
    if type_ == "dask":
        config: dict[str, Any] = {"address": scheduler, "resources": parse_resources(resources or []),
                                  "retries": retries, "connect_timeout": connect_timeout,
                                  "mounted_paths": list(mounted_path or []), "max_parallel_steps": max_nodes}
    else:
        config = {"vm_size": vm_size, "max_nodes": max_nodes}
    config = {k: v for k, v in config.items() if v not in (None, "")}
    if replace and name in {r.name for r in backend.list_compute_targets()}:
        backend.delete_compute_target(name)
    record = backend.create_compute_target(name, type_, config, description)
    if json_:
        print_json(_row(record))
    elif record.type == "dask":
        typer.echo(f"compute target {record.name!r} (dask, scheduler {record.config['address']}"
                   + (f", resources {record.config['resources']}" if record.config.get("resources") else "") + ")")
    else:
        typer.echo(f"compute target {record.name!r} ({record.type}, max parallel steps: "
                   f"{record.config.get('max_nodes') or 'the agent limit'})")


@compute_app.command("delete")
def delete(name: Annotated[str, typer.Argument()], home: HomeOpt = None) -> None:
    """Delete a compute target (steps naming it can no longer be submitted)."""
    workspace(home)._backend.delete_compute_target(name)
    typer.echo(f"deleted compute target {name!r}")
