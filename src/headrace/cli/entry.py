"""The ``headrace`` console script: ``run list`` answered before Typer loads, everything else by Typer.

Scripts and CI call ``headrace run list`` in loops; see ``headrace.cli.run_table``.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Console-script entry point (``headrace.cli.main.main`` does the work for every other command)."""
    if sys.argv[1:3] == ["run", "list"]:
        from headrace.cli.run_table import quick_run_list

        if quick_run_list(sys.argv[1:]):
            return
    from headrace.cli.main import main as typer_main

    typer_main()
