"""``headrace flow import-promptflow DIR [--out DIR]``: turn a prompt flow DAG flow into a headrace flow."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer


def import_promptflow(
    dir: Annotated[Path, typer.Argument(help="The prompt flow folder, holding flow.dag.yaml.",  # noqa: A002
                                        exists=True, file_okay=False)],
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write flow.yaml and copies of the flow's files here (default: DIR itself).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing flow.yaml.")] = False,
) -> None:
    """Convert a prompt flow flow.dag.yaml (and its tool files) into a headrace flow.yaml.

    Prints the files written, the warnings, and what could not be converted; exits 1 when anything could
    not be converted (it is listed at the top of flow.yaml too), 0 otherwise.
    """
    from headrace.flows.importer import import_promptflow as convert

    report = convert(dir, out, overwrite=force)
    base = (out or dir).resolve()
    typer.echo(f"wrote {len(report.written)} file(s) to {base}:")
    for path in report.written:
        typer.echo(f"  {_shown(path, base)}")
    if report.warnings:
        typer.echo(f"{len(report.warnings)} warning(s):")
        for warning in report.warnings:
            typer.echo(f"  - {warning}")
    if report.unconverted:
        typer.echo(f"NOT converted ({len(report.unconverted)}): rewrite these by hand (they are also listed "
                   "at the top of flow.yaml):", err=True)
        for item in report.unconverted:
            typer.echo(f"  - {item}", err=True)
        sys.exit(1)  # not typer.Exit: its code is lost when the app runs with standalone_mode=False
    typer.echo(f"done: try it with `headrace flow test {_shown(base, Path.cwd())}`")


def _shown(path: Path, base: Path) -> str:
    try:
        return os.path.relpath(path, base) if path.is_relative_to(base) else str(path)
    except ValueError:  # another drive (Windows)
        return str(path)
