"""Shared CLI pieces: the workspace option, JSON output, tables (rich is imported lazily)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from headrace.cli.output import (  # noqa: F401 - re-exported: the commands import them from here
    STATUS_STYLE,
    console,
    duration,
    err_console,
    fmt_time,
    json_default,
    new_table,
    print_table,
    styled,
)

HomeOpt = Annotated[
    Path | None,
    typer.Option("--home", envvar="HEADRACE_HOME", help="Workspace home folder (env HEADRACE_HOME)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def workspace(home: Path | None):
    """The workspace for a command: ``--home`` / ``HEADRACE_HOME``, else the usual lookup."""
    from headrace.sdk.workspace import Workspace

    if home is not None:
        os.environ["HEADRACE_HOME"] = str(home)
        return Workspace(home)
    return Workspace.from_config()


@contextlib.contextmanager
def stdout_to_stderr(active: bool = True) -> Iterator[None]:
    """While user code runs under ``--json``, send what it prints to stderr, so stdout stays pure JSON.

    Both ``sys.stdout`` (print) and file descriptor 1 (C extensions, child processes) are redirected.
    """
    if not active:
        yield
        return
    sys.stdout.flush()
    saved = _redirect_fd(1, 2)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stderr.flush()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


def _redirect_fd(fd: int, to: int) -> int | None:
    """Point ``fd`` at ``to``; returns a copy of the old ``fd`` (None where there is no such descriptor)."""
    try:
        saved = os.dup(fd)
    except OSError:
        return None
    try:
        os.dup2(to, fd)
    except OSError:
        os.close(saved)
        return None
    return saved


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=json_default, sort_keys=True))
