"""``headrace compute list|create|delete``: the workspace's named compute targets."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from headrace.cli.common import HomeOpt, JsonOpt, console, print_json, workspace
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
        rest = {k: v for k, v in r.config.items() if k != "max_nodes" and v not in (None, "", {})}
        table.add_row(r.name, r.type, str(r.config.get("max_nodes") or "agent's limit"),
                      ", ".join(f"{k}={v}" for k, v in rest.items()))
    console.print(table)


@compute_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="The name steps and AmlCompute(ws, name) use.")],
    type_: Annotated[str, typer.Option("--type", help="AmlCompute (runs on the agent) or local.")] = "AmlCompute",
    max_nodes: Annotated[int | None, typer.Option("--max-nodes", help="Most steps of a run at once.")] = None,
    vm_size: Annotated[str, typer.Option("--vm-size", help="Recorded only.")] = "",
    description: Annotated[str | None, typer.Option("--description")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Replace a target of that name.")] = False,
    home: HomeOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Configure a compute target; scripts that provision the same name then get this one as it is."""
    backend = workspace(home)._backend
    if replace and name in {r.name for r in backend.list_compute_targets()}:
        backend.delete_compute_target(name)
    config = {"vm_size": vm_size, "max_nodes": max_nodes}
    record = backend.create_compute_target(name, type_, {k: v for k, v in config.items() if v not in (None, "")},
                                           description)
    if json_:
        print_json(_row(record))
    else:
        typer.echo(f"compute target {record.name!r} ({record.type}, max parallel steps: "
                   f"{record.config.get('max_nodes') or 'the agent limit'})")


@compute_app.command("delete")
def delete(name: Annotated[str, typer.Argument()], home: HomeOpt = None) -> None:
    """Delete a compute target (steps naming it can no longer be submitted)."""
    workspace(home)._backend.delete_compute_target(name)
    typer.echo(f"deleted compute target {name!r}")
