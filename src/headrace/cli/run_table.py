"""``headrace run list``'s output, and its answer before Typer is imported.

``quick_run_list(argv)`` serves ``run list`` with only ``--home``, ``--experiment``/``-e``, ``--limit`` and
``--json`` from a SQLite home whose schema is current (``cli.reading.quick_runs``): importing Typer and its
pydantic adapters cost about a third of the command. Anything else (another option, ``--help``, a remote or
PostgreSQL workspace, an error) returns False, and Typer runs the command as usual.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from headrace.cli.output import console, duration, fmt_time, new_table, styled, write_json

__all__ = ["print_runs", "quick_run_list"]


def print_runs(runs: list[Any], as_json: bool) -> None:
    """The runs as JSON, or as the "Runs" table."""
    if as_json:
        write_json([asdict(r) for r in runs])
        return
    table = new_table(title="Runs")
    table.add_column("Run id", no_wrap=True, min_width=max((len(r.id) for r in runs), default=6))  # never cut
    for col in ("Experiment", "Kind", "Status", "Created", "Duration", "Source"):
        table.add_column(col)
    for r in runs:
        kind = r.kind.value + (" (child)" if r.parent_run_id else "")
        table.add_row(r.id, r.experiment_name, kind, styled(r.status.value), fmt_time(r.created_at),
                      duration(r.started_at, r.ended_at), r.run_source)
    console.print(table)


def quick_run_list(argv: list[str]) -> bool:
    """Answer ``run list ...`` (``argv`` without the program name) without Typer; False: not handled."""
    if argv[:2] != ["run", "list"]:
        return False
    options = _options(argv[2:])
    if options is None:
        return False
    from headrace.cli.reading import quick_runs
    from headrace.errors import HeadraceError

    try:
        runs = quick_runs(options["home"], options["experiment"], options["limit"])
    except (HeadraceError, OSError):
        return False  # Typer's path reports it, with its exit code
    if runs is None:
        return False
    print_runs(runs, options["json"])
    return True


def _options(args: list[str]) -> dict[str, Any] | None:
    found: dict[str, Any] = {"home": None, "experiment": None, "limit": 50, "json": False}
    names = {"--home": "home", "--experiment": "experiment", "-e": "experiment", "--limit": "limit"}
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, value = arg.partition("=")
        if arg == "--json":
            found["json"] = True
        elif name in names and (eq or i + 1 < len(args)):
            if not eq:
                i += 1
                value = args[i]
            found[names[name]] = value
        else:
            return None
        i += 1
    try:
        found["limit"] = int(found["limit"])
    except ValueError:
        return None
    home = found["home"] or os.environ.get("HEADRACE_HOME")  # as Typer's --home option (envvar)
    found["home"] = Path(home) if home else None
    return found
