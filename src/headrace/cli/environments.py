"""``headrace environment list|show|register|build``: the workspace's registered environments."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from headrace.cli.common import HomeOpt, JsonOpt, console, fmt_time, print_json, workspace
from headrace.errors import ConfigError
from headrace.storage.records import EnvironmentRecord

environment_app = typer.Typer(help="Python environments steps run in: registered versions, builds.",
                              no_args_is_help=True)

VersionOpt = Annotated[str | None, typer.Option("--version", help="A version; the newest when absent.")]


def _backend(home: Path | None) -> Any:
    from headrace.sdk.environments.backend import environments_of

    return environments_of(workspace(home))


def _row(record: EnvironmentRecord) -> dict[str, Any]:
    return {"name": record.name, "version": record.version, "hash": record.hash, "spec": dict(record.spec),
            "description": record.description, "created": record.created_at}


def _packages(record: EnvironmentRecord) -> str:
    pip = [p for p in record.spec.get("pip") or [] if not p.startswith("-")]
    return ", ".join(pip) or "-"


@environment_app.command("list")
def list_environments(
    all_versions: Annotated[bool, typer.Option("--all-versions", help="Every version, not only the newest.")] = False,
    home: HomeOpt = None, json_: JsonOpt = False,
) -> None:
    """List registered environments (the newest version of each)."""
    records = _backend(home).list(None, all_versions)
    if json_:
        print_json([_row(r) for r in records])
        return
    table = Table(title="Environments")
    for col in ("Name", "Version", "Python", "Pip packages", "Hash", "Registered"):
        table.add_column(col)
    for r in records:
        table.add_row(r.name, str(r.version), r.spec.get("python") or "agent's", _packages(r), r.hash[:12],
                      fmt_time(r.created_at))
    console.print(table)


@environment_app.command("show")
def show(name: Annotated[str, typer.Argument()], version: VersionOpt = None, home: HomeOpt = None,
         json_: JsonOpt = False) -> None:
    """Show one environment version: Python, pip lines, conda packages (not installed), variables."""
    r = _backend(home).get(name, version)
    if json_:
        print_json(_row(r))
        return
    spec = r.spec
    typer.echo(f"{r.name} version {r.version} (hash {r.hash})")
    typer.echo(f"python: {spec.get('python') or 'the agent' + chr(39) + 's'}")
    for line in spec.get("pip") or []:
        typer.echo(f"pip: {line}")
    for line in spec.get("conda") or []:
        typer.echo(f"conda (recorded, not installed): {line}")
    docker = spec.get("docker") or {}
    if docker.get("base_image") or docker.get("enabled"):
        typer.echo(f"docker (recorded, not applied): {docker.get('base_image')}")
    for key, value in (spec.get("environment_variables") or {}).items():
        typer.echo(f"env: {key}={value}")


@environment_app.command("register")
def register(
    name: Annotated[str, typer.Argument()],
    pip_requirements: Annotated[Path | None, typer.Option("--pip-requirements", "-r", help="A requirements file.")]
    = None,
    conda_file: Annotated[Path | None, typer.Option("--conda-file", help="A conda environment file.")] = None,
    python: Annotated[str | None, typer.Option("--python", help="Python version (default: the agent's).")] = None,
    home: HomeOpt = None, json_: JsonOpt = False,
) -> None:
    """Register an environment from a requirements or conda file (the same content keeps its version)."""
    from headrace.sdk.environments import Environment

    if (pip_requirements is None) == (conda_file is None):
        raise ConfigError("give exactly one of --pip-requirements and --conda-file")
    env = (Environment.from_pip_requirements(name, str(pip_requirements)) if pip_requirements
           else Environment.from_conda_specification(name, str(conda_file)))
    if python:
        env.python.conda_dependencies.set_python_version(python)
    registered = env.register(workspace(home))
    if json_:
        print_json({"name": registered.name, "version": int(registered.version or 0)})
    else:
        typer.echo(f"environment {registered.name!r} version {registered.version}")


@environment_app.command("build")
def build(name: Annotated[str, typer.Argument()], version: VersionOpt = None, home: HomeOpt = None,
          json_: JsonOpt = False) -> None:
    """Build an environment version where the workspace's steps run (the server, or this home), now."""
    record, log = _backend(home).build(name, version)
    if json_:
        print_json({"name": record.name, "version": record.version, "hash": record.hash, "log": log})
        return
    for line in log:
        typer.echo(line)
    typer.echo(f"environment {record.name!r} version {record.version} is ready")
