"""Shared CLI pieces: the workspace option, JSON output, tables (rich is imported lazily)."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer


class _LazyConsole:
    """A rich ``Console`` made on first use: importing rich costs start-up time that ``--help`` and
    ``--json`` output never need."""

    def __init__(self, **options: Any):
        self._options = options
        self._console: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return getattr(self._console, name)


console: Any = _LazyConsole()
err_console: Any = _LazyConsole(stderr=True)

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


def new_table(*args: Any, **options: Any) -> Any:
    """A rich ``Table`` (rich is imported only by commands that print one)."""
    from rich.table import Table

    return Table(*args, **options)


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Print a rich table titled ``title`` with ``columns`` and one line per row of ``rows``."""
    table = new_table(title=title)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*row)
    console.print(table)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=_default, sort_keys=True))


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    return str(value)


def fmt_time(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def duration(start: datetime | None, end: datetime | None) -> str:
    if not start:
        return "-"
    if not end:
        return "running"
    secs = (end - start).total_seconds()
    return f"{secs:.1f}s" if secs < 120 else f"{secs / 60:.1f}m"


STATUS_STYLE = {
    "Finished": "green", "Completed": "green", "Failed": "red", "Canceled": "yellow", "Running": "cyan", "Queued": "blue",
    "NotStarted": "dim",
}


def styled(status: str) -> str:
    style = STATUS_STYLE.get(status, "")
    return f"[{style}]{status}[/{style}]" if style else status
