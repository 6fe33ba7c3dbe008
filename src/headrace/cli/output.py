"""CLI output without Typer: tables (rich, imported lazily), JSON, times and statuses.

``headrace run list`` is answered from here before Typer is imported (``headrace.cli.entry``); the
other commands get these through ``headrace.cli.common``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

__all__ = ["STATUS_STYLE", "console", "duration", "err_console", "fmt_time", "json_default", "new_table",
           "print_table", "styled", "write_json"]


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


def write_json(data: Any) -> None:
    """``data`` as indented JSON on stdout (``print_json`` without Typer)."""
    sys.stdout.write(json.dumps(data, indent=2, default=json_default, sort_keys=True) + "\n")


def json_default(value: Any) -> Any:
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
