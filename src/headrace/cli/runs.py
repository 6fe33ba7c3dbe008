"""``headrace run ...`` and ``headrace experiment ...``."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from headrace.cli.common import (
    HomeOpt,
    JsonOpt,
    console,
    duration,
    fmt_time,
    new_table,
    print_json,
    styled,
    workspace,
)
from headrace.cli.reading import quick_runs, read_backend
from headrace.cli.run_table import print_runs
from headrace.core.parallel_run import last_progress
from headrace.core.resources import describe
from headrace.errors import ConfigError

run_app = typer.Typer(rich_markup_mode=None, add_completion=False, help="Inspect and control pipeline runs.", no_args_is_help=True)
experiment_app = typer.Typer(rich_markup_mode=None, add_completion=False, help="List experiments.", no_args_is_help=True)


@run_app.command("list")
def run_list(
    home: HomeOpt = None,
    experiment: Annotated[str | None, typer.Option("--experiment", "-e", help="Only this experiment.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many runs.")] = 50,
    json_: JsonOpt = False,
) -> None:
    """List runs, newest first."""
    runs = quick_runs(home, experiment, limit)
    if runs is None:
        runs = read_backend(home).list_runs(experiment_name=experiment, limit=limit)
    print_runs(runs, json_)


@run_app.command("show")
def run_show(run_id: str, home: HomeOpt = None, json_: JsonOpt = False) -> None:
    """Show a run: parameters and every step (status, timing, reuse, exit code)."""
    backend = read_backend(home)
    run = backend.get_run(run_id)
    steps = backend.list_step_runs(run_id)
    # A running ParallelRunStep prints its progress to stdout: read it back for the running steps only.
    progress = {s.name: p for s in steps if s.status.value == "Running"
                if (p := last_progress(backend.read_step_log(s, "stdout"))) is not None}
    if json_:
        print_json({**asdict(run), "steps": [{**asdict(s), **({"progress": asdict(progress[s.name])}
                                                              if s.name in progress else {})} for s in steps],
                    "metrics": backend.run_metrics(run_id)})
        return
    console.print(f"[bold]Run[/bold] {run.id}  experiment [bold]{run.experiment_name}[/bold]  "
                  f"kind {run.kind.value}  status {styled(run.status.value)}")
    if run.parent_run_id:
        console.print(f"parent run {run.parent_run_id}")
    console.print(f"created {fmt_time(run.created_at)}  duration {duration(run.started_at, run.ended_at)}")
    if run.error:
        console.print(f"[red]error:[/red] {run.error}")
    if run.parameters:
        console.print("parameters: " + ", ".join(f"{k}={v}" for k, v in run.parameters.items()))
    table = new_table(title="Steps")
    for col in ("Step", "Status", "Duration", "Exit", "Reused from", "Step run id"):
        table.add_column(col)
    for s in steps:
        table.add_row(s.name, styled(s.status.value), duration(s.started_at, s.ended_at),
                      "-" if s.exit_code is None else str(s.exit_code), s.reused_from or "-", s.id)
    if steps:
        console.print(table)
    metrics = backend.run_metrics(run_id)
    if metrics:
        console.print("metrics: " + ", ".join(f"{k}={_short(v)}" for k, v in metrics.items()), markup=False)
    for s in steps:
        if s.error and s.status.value != "Finished":
            console.print(f"[{s.name}] {s.error}")
        if s.name in progress:
            console.print(f"step {s.name}: {progress[s.name].text()}", markup=False)
        if s.properties.get("resources"):
            console.print(f"step {s.name}: resources {describe(s.properties['resources'])}", markup=False)


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


@run_app.command("logs")
def run_logs(
    run_id: str,
    step: Annotated[str | None, typer.Argument(help="Step name or step run id (a script run's: optional).")] = None,
    home: HomeOpt = None,
    which: Annotated[str, typer.Option("--log", help="stdout, stderr or execution.")] = "stdout",
    tail: Annotated[int | None, typer.Option(help="Only the last N lines.")] = None,
) -> None:
    """Print a step's log (a script run's log when it is a script run)."""
    ws = workspace(home)
    if step is None:
        steps = ws._backend.list_step_runs(run_id)
        if len(steps) != 1:
            names = ", ".join(s.name for s in steps) or "none"
            raise ConfigError(f"run {run_id} has {len(steps)} steps ({names}): name the step whose log to print")
        step = steps[0].id
    rec = ws._backend.find_step_run(run_id, step)
    text = ws._backend.read_step_log(rec, which)
    lines = text.splitlines()
    if tail is not None:
        lines = lines[-tail:]
    typer.echo("\n".join(lines))


@run_app.command("cancel")
def run_cancel(run_id: str, home: HomeOpt = None, json_: JsonOpt = False) -> None:
    """Cancel a run (running steps are stopped)."""
    ws = workspace(home)
    run = ws._backend.cancel_run(run_id)
    if json_:
        print_json({"id": run.id, "status": run.status.value, "cancel_requested": run.cancel_requested})
    else:
        console.print(f"run {run.id}: {styled(run.status.value)}"
                      + (" (cancel requested)" if not run.status.is_terminal else ""))


@run_app.command("wait")
def run_wait(
    run_id: str,
    home: HomeOpt = None,
    timeout: Annotated[float | None, typer.Option(help="Give up after this many seconds.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not stream step output.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Wait for a run to end, streaming its steps' output; exit 1 if it failed."""
    from headrace.sdk.runs import Run
    from headrace.sdk.waiting import wait_for_run

    ws = workspace(home)
    run = Run.get(ws, run_id)
    status = wait_for_run(run, not (quiet or json_), timeout, True)
    if json_:
        print_json({"id": run_id, "status": status})


@experiment_app.command("list")
def experiment_list(home: HomeOpt = None, json_: JsonOpt = False) -> None:
    """List experiments."""
    backend = read_backend(home)
    experiments = backend.list_experiments()
    if json_:
        print_json([asdict(e) for e in experiments])
        return
    table = new_table(title="Experiments")
    table.add_column("Name")
    table.add_column("Created")
    table.add_column("Runs")
    counts = backend.count_runs([e.name for e in experiments])
    for e in experiments:
        table.add_row(e.name, fmt_time(e.created_at), str(counts.get(e.name, 0)))
    console.print(table)
