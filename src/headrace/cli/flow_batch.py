"""``headrace flow run`` and ``headrace flow eval``: batch and evaluation runs of a flow, as pipeline runs.

Both submit a pipeline run of one flow step, show its progress while waiting, then a summary: lines
completed and failed, metrics, where ``outputs.jsonl`` is, and the run id (``--json`` for machine output,
``--no-wait`` to return at once). The exit code is 1 when the run did not finish.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from headrace.cli.common import HomeOpt, JsonOpt, console, new_table, print_json, styled, workspace
from headrace.errors import FlowInputError

__all__ = ["evaluate", "parse_mapping", "read_init", "register", "run"]

FolderArg = Annotated[Path, typer.Argument(
    help="The flow folder (flow.yaml or flow.flex.yaml), or a .prompty file.", exists=True)]
VariantOpt = Annotated[str | None, typer.Option(
    "--variant", help="The node variant to run: '${NODE.VARIANT_ID}' (default: each node's default).")]
VariantsOpt = Annotated[list[str] | None, typer.Option(
    "--variant", help="The node variant to run: '${NODE.VARIANT_ID}'; repeat it to run and compare several.",
    show_default=False)]
InitOpt = Annotated[Path | None, typer.Option(
    "--init", help="A JSON file: a flex flow class entry's __init__ arguments.", exists=True, dir_okay=False)]
ExtraArg = Annotated[list[str] | None, typer.Argument(help="More NAME=VALUE column mappings.", show_default=False)]
MappingOpt = Annotated[list[str] | None, typer.Option(
    "--column-mapping", "-m", help="A flow input as NAME=VALUE: ${data.COL}, ${run.outputs.X}, ${run.inputs.X} "
    "or a literal (repeat it, or list several after it).", show_default=False)]
ExperimentOpt = Annotated[str | None, typer.Option("--experiment", "-e", help="Experiment name.")]
ConcurrencyOpt = Annotated[int, typer.Option(min=1, help="Lines running at the same time.")]
TimeoutOpt = Annotated[float | None, typer.Option("--line-timeout", help="Seconds one line may take.")]
NoWaitOpt = Annotated[bool, typer.Option("--no-wait", help="Print the run id and return without waiting.")]
ReuseOpt = Annotated[bool, typer.Option("--reuse", help="Reuse an identical earlier run's results.")]


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """``["question=${data.q}", ...]`` -> a column mapping.

    Raises:
        FlowInputError: a pair without ``=``.
    """
    mapping = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise FlowInputError(f"{pair!r} is not NAME=VALUE (e.g. --column-mapping question='${{data.question}}')")
        mapping[name.strip()] = value
    return mapping


def read_init(path: Path | None) -> dict[str, Any] | None:
    """``--init FILE``: a JSON object (a flex flow class entry's ``__init__`` arguments).

    Raises:
        FlowInputError: the file is not a JSON object.
    """
    if path is None:
        return None
    import json

    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FlowInputError(f"{path}: not a JSON file ({exc})", input="init") from None
    if not isinstance(value, dict):
        raise FlowInputError(f"{path}: must hold a JSON object of __init__ arguments", input="init")
    return value


def run(
    folder: FolderArg,
    extra: ExtraArg = None,
    data: Annotated[Path, typer.Option("--data", "-d", help="Rows: a .jsonl, .json or .csv file (or a folder).",
                                       exists=True)] = ...,  # type: ignore[assignment]
    column_mapping: MappingOpt = None,
    experiment: ExperimentOpt = None,
    concurrency: ConcurrencyOpt = 4,
    line_timeout: TimeoutOpt = None,
    resume_from: Annotated[str | None, typer.Option(
        "--resume-from", help="An earlier run of the flow (id): its completed lines are kept.")] = None,
    reuse: ReuseOpt = False,
    init: InitOpt = None,
    variant: VariantsOpt = None,
    no_wait: NoWaitOpt = False,
    json_out: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Run the flow over every row of the data, as a pipeline run; show progress, then a summary.

    With several --variant options, one run per variant is submitted at once, then their results are
    compared side by side.
    """
    from headrace.sdk.flow_runs import run_flow

    ws = workspace(home)
    mapping = parse_mapping([*(column_mapping or []), *(extra or [])])
    chosen = list(dict.fromkeys(variant or [])) or [None]
    runs = [run_flow(ws, folder, data, mapping, experiment_name=experiment, resume_from=resume_from,
                     concurrency=concurrency, line_timeout=line_timeout, allow_reuse=reuse,
                     init=read_init(init), variant=v) for v in chosen]
    if len(runs) == 1:
        _finish(runs[0], no_wait, json_out)
    else:
        _compare(runs, no_wait, json_out)


def evaluate(
    folder: FolderArg,
    extra: ExtraArg = None,
    base_run: Annotated[str, typer.Option("--run", "-r", help="The flow run to evaluate (id).")] = ...,  # type: ignore[assignment]
    data: Annotated[Path | None, typer.Option(
        "--data", "-d", help="Rows to join by line number (e.g. the ground truth); default: the run's lines only.",
        exists=True)] = None,
    column_mapping: MappingOpt = None,
    experiment: Annotated[str | None, typer.Option(
        "--experiment", "-e", help="Experiment name (default: the evaluated run's).")] = None,
    concurrency: ConcurrencyOpt = 4,
    line_timeout: TimeoutOpt = None,
    reuse: ReuseOpt = False,
    init: InitOpt = None,
    variant: VariantOpt = None,
    no_wait: NoWaitOpt = False,
    json_out: JsonOpt = False,
    home: HomeOpt = None,
) -> None:
    """Evaluate a flow run with an evaluation flow; its aggregation metrics become the run's metrics."""
    from headrace.sdk.flow_runs import evaluate_flow

    ws = workspace(home)
    mapping = parse_mapping([*(column_mapping or []), *(extra or [])])
    pipeline_run = evaluate_flow(ws, folder, base_run, data, mapping, experiment_name=experiment,
                                 concurrency=concurrency, line_timeout=line_timeout, allow_reuse=reuse,
                            init=read_init(init))
    _finish(pipeline_run, no_wait, json_out)


def traces(
    run_id: Annotated[str, typer.Argument(help="The id of a flow run (headrace flow run / eval).")],
    line: Annotated[int | None, typer.Option("--line", "-l", help="Show one line's nodes in full.")] = None,
    home: HomeOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show a flow run's traces: per line, each node's status, time, tokens and error (--line N: in full)."""
    from headrace.sdk.flow_runs import flow_traces
    from headrace.sdk.runs import PipelineRun

    rows = flow_traces(PipelineRun.get(workspace(home), run_id))
    if line is not None:
        rows = [r for r in rows if r.get("line_number") == line]
        if not rows:
            raise FlowInputError(f"run {run_id} has no line {line}", input="line")
    if json_out:
        print_json(rows)
        return
    table = new_table(title=f"traces of flow run {run_id}", title_justify="left")
    for column in ("line", "node", "status", "time", "tokens (prompt/completion)", "cut", "error"):
        table.add_column(column, overflow="fold")
    for row in rows:
        for name, node in row.get("nodes", {}).items():
            llm = node.get("llm") or {}
            tokens = f"{llm.get('prompt_tokens', '')}/{llm.get('completion_tokens', '')}" if llm else ""
            ms = node.get("latency_ms")
            table.add_row(str(row.get("line_number")), name, styled(node.get("status", "")),
                          f"{ms:.0f} ms" if isinstance(ms, int | float) else "", tokens,
                          str(len(llm.get("cut") or [])) if llm else "", node.get("error") or "")
    console.print(table)
    if line is not None:
        for name, node in rows[0].get("nodes", {}).items():
            console.print(f"[bold]{name}[/bold] inputs:", node.get("inputs"))
            console.print(f"[bold]{name}[/bold] output:", node.get("output"))


def register(app: typer.Typer) -> None:
    """Add ``run``, ``eval`` and ``traces`` to the ``headrace flow`` group."""
    app.command("run")(run)
    app.command("eval")(evaluate)
    app.command("traces")(traces)


def _finish(pipeline_run: Any, no_wait: bool, json_out: bool) -> None:
    from headrace.sdk.flow_runs import flow_summary

    if no_wait:
        if json_out:
            print_json({"run_id": pipeline_run.id, "experiment": pipeline_run.experiment.name,
                        "status": pipeline_run.get_status()})
        else:
            console.print(f"submitted run {pipeline_run.id} (experiment {pipeline_run.experiment.name}); follow it "
                          f"with `headrace run wait {pipeline_run.id}`")
        return
    status = pipeline_run.wait_for_completion(show_output=not json_out, raise_on_error=False)
    summary = flow_summary(pipeline_run)
    if json_out:
        print_json(summary)
    else:
        _table(summary)
    if status != "Finished":
        sys.exit(1)  # not typer.Exit: its code is lost when the app runs with standalone_mode=False


def _compare(runs: list[Any], no_wait: bool, json_out: bool) -> None:
    """Several variants' runs: wait for all, then one row (or JSON object) each; exit 1 if any did not finish."""
    from headrace.sdk.flow_runs import flow_summary

    if no_wait:
        rows = [{"run_id": r.id, "variant": r.tags.get("headrace.flow_variant"), "status": r.get_status()}
                for r in runs]
        if json_out:
            print_json(rows)
        for row in [] if json_out else rows:
            console.print(f"submitted run {row['run_id']} (variant {row['variant']})")
        return
    statuses = [r.wait_for_completion(show_output=False, raise_on_error=False) for r in runs]
    summaries = [flow_summary(r) for r in runs]
    if json_out:
        print_json(summaries)
    else:
        names = sorted({k for s in summaries for k in s["metrics"] if not k.startswith("lines_")})
        table = new_table(title="variants compared", title_justify="left")
        for column in ("variant", "run", "status", "lines (completed/failed)", *names):
            table.add_column(column, overflow="fold")
        for s in summaries:
            values = [s["metrics"].get(n) for n in names]
            table.add_row(s["variant"] or "default", s["run_id"], styled(s["status"]),
                          f"{s['lines_completed']}/{s['lines_failed']}",
                          *(f"{v:g}" if isinstance(v, int | float) else "" for v in values))
        console.print(table)
    if any(status != "Finished" for status in statuses):
        sys.exit(1)


def _table(summary: dict[str, Any]) -> None:
    table = new_table(title=f"flow run {summary['run_id']}", title_justify="left", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", overflow="fold")
    table.add_row("status", styled(summary["status"]))
    table.add_row("experiment", summary["experiment"])
    if summary["lines"] is not None:
        lines = f"{summary['lines']} ({summary['lines_completed']} completed, {summary['lines_failed']} failed"
        lines += f", {summary['lines_resumed']} resumed)" if summary.get("lines_resumed") else ")"
        table.add_row("lines", lines)
    for name, value in summary["metrics"].items():
        if not name.startswith("lines_"):
            table.add_row(f"metric {name}", f"{value:g}" if isinstance(value, int | float) else str(value))
    outputs = summary["outputs"]
    if outputs:
        where = outputs.get("local_path") or f"{outputs['datastore']}:{outputs['path']}"
        table.add_row("outputs", f"{where}/outputs.jsonl")
    for warning in summary["warnings"]:
        table.add_row("warning", warning)
    if summary["error"] and summary["status"] != "Finished":
        table.add_row("error", f"[red]{summary['error']}[/red]")
    console.print(table)
