"""``headrace model register|list|show|download|stage|alias|delete``: the model registry.

Works on a local home or, with ``HEADRACE_URL``, on a server. ``model show NAME --json`` includes the stage
history of every version of the name (who, when, from, to, comment).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from headrace.cli.common import HomeOpt, JsonOpt, fmt_time, print_json, stdout_to_stderr, workspace
from headrace.errors import ModelError

model_app = typer.Typer(help="Registered models: versions, files, stages and aliases.", no_args_is_help=True)

VersionOpt = Annotated[int | None, typer.Option("--version", help="A version number (default: the latest).")]
AliasOpt = Annotated[str | None, typer.Option("--alias", help="The version this alias points at.")]


def _pairs(values: list[str] | None, flag: str) -> dict[str, str]:
    out = {}
    for item in values or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ModelError(f"{flag} {item!r}: expected KEY=VALUE")
        out[key] = value
    return out


def row(m: Any) -> dict[str, Any]:
    """A version as the CLI prints it in JSON."""
    return {"id": m.id, "name": m.name, "version": m.version, "stage": m.stage, "aliases": m.aliases,
            "description": m.description, "tags": m.tags, "properties": m.properties,
            "framework": m.model_framework, "framework_version": m.model_framework_version,
            "run_id": m.run_id, "step_name": m.step_name, "experiment_name": m.experiment_name,
            "datasets": m._record.datasets, "created_by": m.created_by, "created_time": m.created_time,
            "source": m._record.source, "files": m.files}


@model_app.command("register")
def register(
    name: Annotated[str, typer.Argument(help="The model name.")],
    path: Annotated[str, typer.Argument(help="A local file or folder; with --run, '<output name>/<path>' in the "
                                             "run's step outputs.")],
    run: Annotated[str | None, typer.Option("--run", help="Register files of this pipeline run.")] = None,
    step: Annotated[str | None, typer.Option("--step", help="With --run: only this step's files.")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="KEY=VALUE (repeat).")] = None,
    prop: Annotated[list[str] | None, typer.Option("--property", help="KEY=VALUE (repeat).")] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    framework: Annotated[str | None, typer.Option("--framework", help="e.g. ScikitLearn, Onnx, Custom.")] = None,
    framework_version: Annotated[str | None, typer.Option("--framework-version")] = None,
    home: HomeOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Register the next version of NAME from local files or from a run's outputs."""
    from headrace.sdk.models import Model
    from headrace.sdk.models.model import register_run_model

    ws = workspace(home)
    details = {"tags": _pairs(tag, "--tag"), "properties": _pairs(prop, "--property"), "description": description,
               "model_framework": framework, "model_framework_version": framework_version}
    if run is not None:
        model = register_run_model(ws, run, step, name, path, **details)
    elif step is not None:
        raise ModelError("--step needs --run")
    else:
        with stdout_to_stderr(json_):  # Model.register prints what it does, as Azure ML's does
            model = Model.register(ws, path, name, **details)
    if json_:
        print_json(row(model))
        return
    typer.echo(f"registered {model.id} ({model._record.file_count} file(s), {model._record.total_bytes} bytes)")


@model_app.command("list")
def list_models(name: Annotated[str | None, typer.Argument(help="Only this model's versions.")] = None,
                latest: Annotated[bool, typer.Option("--latest", help="Only each name's latest version.")] = False,
                home: HomeOpt = None, json_: JsonOpt = False) -> None:
    """Registered versions, by name then version."""
    from headrace.sdk.models import Model

    found = Model.list(workspace(home), name=name, latest=latest)
    if json_:
        print_json([row(m) for m in found])
        return
    if not found:
        typer.echo("no models registered")
    for m in found:
        aliases = f" @{','.join(m.aliases)}" if m.aliases else ""
        typer.echo(f"{m.name:<24} v{m.version:<4} {m.stage:<10} {fmt_time(m.created_time)}  "
                   f"{m.created_by or ''}{aliases}")


@model_app.command("show")
def show(name: Annotated[str, typer.Argument()], version: VersionOpt = None, alias: AliasOpt = None,
         home: HomeOpt = None, json_: JsonOpt = False) -> None:
    """One version (the latest by default), its files and lineage; --json adds every version of the name and
    the stage history."""
    from headrace.sdk.models import Model

    ws = workspace(home)
    model = Model(ws, name, version=version, alias=alias)
    history = model._models.history(name, None)
    if json_:
        print_json({**row(model), "versions": [{"version": m.version, "stage": m.stage, "aliases": m.aliases}
                                                for m in Model.list(ws, name=name)],
                    "stage_history": [{"version": c.version, "from_stage": c.from_stage, "to_stage": c.to_stage,
                                       "changed_by": c.changed_by, "changed_time": c.changed_at,
                                       "comment": c.comment} for c in history]})
        return
    typer.echo(f"{model.id}  stage {model.stage}" + (f"  aliases {', '.join(model.aliases)}" if model.aliases else ""))
    typer.echo(f"registered {fmt_time(model.created_time)} by {model.created_by}")
    if model.run_id:
        typer.echo(f"run {model.run_id}" + (f" step {model.step_name}" if model.step_name else ""))
    for d in model._record.datasets:
        typer.echo(f"dataset ({d['scenario']}) {d.get('name') or d['id']}" + (f":{d['version']}" if d.get("version") else ""))
    for f in model.files:
        typer.echo(f"  {f['size']:>12}  {f['path']}")
    for c in history:
        note = f"  ({c.comment})" if c.comment else ""
        typer.echo(f"v{c.version}: {c.from_stage} -> {c.to_stage}  {fmt_time(c.changed_at)} by {c.changed_by}{note}")


@model_app.command("download")
def download(name: Annotated[str, typer.Argument()], version: VersionOpt = None, alias: AliasOpt = None,
             target: Annotated[Path, typer.Option("--target", help="The folder to copy into.")] = Path("."),
             exist_ok: Annotated[bool, typer.Option("--exist-ok", help="Replace files already there.")] = False,
             home: HomeOpt = None) -> None:
    """Copy a version's files into a folder; prints the model's path."""
    from headrace.sdk.models import Model

    typer.echo(Model(workspace(home), name, version=version, alias=alias).download(str(target), exist_ok=exist_ok))


@model_app.command("stage")
def stage(name: Annotated[str, typer.Argument()], version: Annotated[int, typer.Argument()],
          to: Annotated[str, typer.Argument(metavar="STAGE", help="None, Staging, Production or Archived.")],
          comment: Annotated[str | None, typer.Option("--comment", help="Why (kept in the history).")] = None,
          archive_existing: Annotated[bool, typer.Option("--archive-existing",
                                                         help="Archive the versions now in STAGE.")] = False,
          home: HomeOpt = None, json_: JsonOpt = False) -> None:
    """Move a version to a stage."""
    from headrace.sdk.models import Model

    model = Model(workspace(home), name, version=version).transition_stage(to, comment, archive_existing)
    if json_:
        print_json(row(model))
        return
    typer.echo(f"{model.id} is now in {model.stage}")


@model_app.command("alias")
def alias(name: Annotated[str, typer.Argument()], alias_name: Annotated[str, typer.Argument(metavar="ALIAS")],
          version: Annotated[int | None, typer.Argument(help="The version it points at (omit with --delete).")] = None,
          delete: Annotated[bool, typer.Option("--delete", help="Remove the alias.")] = False,
          home: HomeOpt = None) -> None:
    """Point an alias (champion, blue...) at a version, or remove it."""
    from headrace.sdk.models import Model

    ws = workspace(home)
    if delete:
        Model(ws, name, alias=alias_name).delete_alias(alias_name)
        typer.echo(f"removed alias {alias_name} of {name}")
        return
    if version is None:
        raise ModelError("give the VERSION the alias points at, or --delete")
    Model(ws, name, version=version).set_alias(alias_name)
    typer.echo(f"{name}@{alias_name} -> {version}")


@model_app.command("delete")
def delete(name: Annotated[str, typer.Argument()], version: Annotated[int, typer.Argument()],
           home: HomeOpt = None) -> None:
    """Delete a version (its stage history and aliases go with it)."""
    from headrace.sdk.models import Model

    Model(workspace(home), name, version=version).delete()
    typer.echo(f"deleted {name}:{version}")
