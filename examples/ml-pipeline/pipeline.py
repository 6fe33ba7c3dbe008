"""A small, real ML pipeline: prepare -> train -> evaluate on the Iris data set, stdlib only.

Usage:
    python examples/ml-pipeline/pipeline.py                          # defaults
    python examples/ml-pipeline/pipeline.py --param epochs=400       # only train and evaluate rerun
    python examples/ml-pipeline/pipeline.py --param test_ratio=0.2   # every step reruns
    python examples/ml-pipeline/pipeline.py --no-wait                # print the run id and return

The workspace comes from ``Workspace.from_config()`` (``HEADRACE_HOME`` or ``.headrace/``).
Submitting the same definition twice reuses every step: nothing changed, so nothing reruns.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

from headrace import (
    DataPath,
    Experiment,
    Pipeline,
    PipelineData,
    PipelineParameter,
    PythonScriptStep,
    Workspace,
)
from headrace.errors import HeadraceError

HERE = Path(__file__).resolve().parent
DATA_FILE = HERE / "data" / "iris.csv"
DATA_FOLDER_ON_DATASTORE = "examples/data"
EXPERIMENT = "quickstart"


def build_pipeline(ws: Workspace) -> Pipeline:
    """Upload the data set and define the three steps (upstream steps come in through their data)."""
    ds = ws.get_default_datastore()
    ds.upload_files([str(DATA_FILE)], target_path=DATA_FOLDER_ON_DATASTORE, overwrite=True)

    input_data = PipelineParameter(
        name="input_data", default_value=DataPath(ds, f"{DATA_FOLDER_ON_DATASTORE}/{DATA_FILE.name}")
    )
    test_ratio = PipelineParameter(name="test_ratio", default_value=0.3)
    seed = PipelineParameter(name="seed", default_value=7)
    epochs = PipelineParameter(name="epochs", default_value=200)
    learning_rate = PipelineParameter(name="learning_rate", default_value=0.5)

    split = PipelineData("split", datastore=ds)
    model = PipelineData("model", datastore=ds)
    evaluation = PipelineData("evaluation", datastore=ds)
    steps_dir = HERE / "steps"

    PythonScriptStep(  # pulled into the pipeline by `split`, which train and evaluate read
        name="prepare",
        script_name="prepare.py",
        source_directory=steps_dir,
        arguments=["--input", input_data, "--test-ratio", test_ratio, "--seed", seed, "--out", split],
        inputs=[input_data],
        outputs=[split],
        allow_reuse=True,
    )
    PythonScriptStep(
        name="train",
        script_name="train.py",
        source_directory=steps_dir,
        arguments=["--data", split, "--epochs", epochs, "--learning-rate", learning_rate, "--out", model],
        inputs=[split],
        outputs=[model],
    )
    evaluate = PythonScriptStep(
        name="evaluate",
        script_name="evaluate.py",
        source_directory=steps_dir,
        arguments=["--data", split, "--model", model, "--out", evaluation],
        inputs=[split, model],
        outputs=[evaluation],
    )
    return Pipeline(workspace=ws, steps=[evaluate])


def parse_params(items: list[str]) -> dict[str, str]:
    """``["epochs=300", ...]`` -> ``{"epochs": "300"}``; headrace converts each to its declared type."""
    params = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SystemExit(f"--param expects name=value, got {item!r}")
        params[name.strip()] = value.strip()
    return params


def step_duration(step) -> float | None:
    """Seconds between a step run's start and end, or None while it has not ended."""
    # StepRun.get_details() (Azure ML's startTimeUtc/endTimeUtc) when the SDK offers it, else the record.
    if hasattr(step, "get_details"):
        details = step.get_details()
        start, end = (
            details.get("startTimeUtc") or details.get("startTime"),
            details.get("endTimeUtc") or details.get("endTime"),
        )
        if isinstance(start, str) and isinstance(end, str):
            return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
        return None
    record = step._record
    if record.started_at and record.ended_at:
        return (record.ended_at - record.started_at).total_seconds()
    return None


def summarise(run) -> dict:
    """Steps (status, reuse, duration) and metrics of a finished run, as plain data."""
    steps = []
    for step in run.get_steps():
        metrics = step.get_metrics()
        steps.append(
            {
                "name": step.name,
                "status": step.status,
                "reused": step.is_reused,
                "reused_run_id": step.reused_run_id,
                "duration_s": step_duration(step),
                "metrics": {k: v for k, v in metrics.items() if k != "loss"},
                "loss_points": len(metrics["loss"]) if isinstance(metrics.get("loss"), list) else 0,
            }
        )
    return {
        "run_id": run.id,
        "status": run.get_status(),
        "parameters": run.parameters,
        "metrics": run.get_metrics(),
        "steps": steps,
    }


def print_summary(summary: dict) -> None:
    print(f"\nrun {summary['run_id']}: {summary['status']}")
    print(f"{'step':<10} {'status':<9} {'reused':<7} {'duration':>9}")
    for s in summary["steps"]:
        duration = "-" if s["duration_s"] is None else f"{s['duration_s']:.2f}s"
        print(f"{s['name']:<10} {s['status']:<9} {'yes' if s['reused'] else 'no':<7} {duration:>9}")
    print("\nmetrics")
    for s in summary["steps"]:
        for name, value in s["metrics"].items():
            if name == "confusion_matrix":
                continue
            print(f"  {s['name']}.{name} = {value}")
        if s["loss_points"]:
            print(f"  {s['name']}.loss = series of {s['loss_points']} values")
    for name, value in summary["metrics"].items():
        print(f"  pipeline.{name} = {value}")
    matrix = next(
        (s["metrics"]["confusion_matrix"] for s in summary["steps"] if "confusion_matrix" in s["metrics"]),
        None,
    )
    if matrix:
        rows = matrix if isinstance(matrix, list) else [matrix]
        predicted = [k for k in rows[0] if k != "actual"]
        corner = "actual \\ predicted"
        first = max(len(corner), *(len(str(r["actual"])) for r in rows)) + 2
        col = max(len(p) for p in predicted) + 2
        print("\nconfusion matrix")
        print("  " + corner.ljust(first) + "".join(p.rjust(col) for p in predicted))
        for row in rows:
            print("  " + str(row["actual"]).ljust(first) + "".join(str(row[p]).rjust(col) for p in predicted))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a pipeline parameter (input_data, test_ratio, seed, epochs, learning_rate)",
    )
    parser.add_argument("--no-wait", action="store_true", help="print the run id and return without waiting")
    parser.add_argument("--experiment", default=EXPERIMENT, help=f"experiment name (default {EXPERIMENT})")
    parser.add_argument("--summary-json", metavar="FILE", help="also write the summary as JSON to FILE")
    args = parser.parse_args(argv)

    ws = Workspace.from_config()
    pipeline = build_pipeline(ws)
    problems = pipeline.validate()
    if problems:
        print("the pipeline is invalid:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    try:
        run = Experiment(ws, args.experiment).submit(pipeline, pipeline_parameters=parse_params(args.param))
    except HeadraceError as exc:  # e.g. an unknown parameter or a value of the wrong type
        print(f"cannot submit: {exc}", file=sys.stderr)
        return 2
    print(f"submitted run {run.id} to experiment {args.experiment!r}")
    if args.no_wait:
        # A local workspace executes runs inside this process, so it still finishes the run before exiting.
        return 0
    status = run.wait_for_completion(show_output=True, raise_on_error=False)
    summary = summarise(run)
    print_summary(summary)
    if args.summary_json:
        Path(args.summary_json).write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    return 0 if status == "Finished" else 1


if __name__ == "__main__":
    sys.exit(main())
