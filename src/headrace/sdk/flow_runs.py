"""Batch and evaluation runs of prompt flows, as pipeline runs of one ``FlowStep``.

A flow run is an ordinary pipeline run: recorded before it starts, listed by ``headrace run list`` and the
web UI, with the step's logs (progress), metrics and output folder, and publishable like any run.

Example:
    >>> from headrace import Workspace
    >>> from headrace.sdk.flow_runs import evaluate_flow, run_flow
    >>> ws = Workspace.from_config()
    >>> run = run_flow(ws, "flows/qa", "rows.jsonl", {"question": "${data.q}"})
    >>> run.wait_for_completion()
    >>> grade = evaluate_flow(ws, "flows/eval-accuracy", run, "rows.jsonl",
    ...                       {"answer": "${run.outputs.answer}", "truth": "${data.truth}"})
    >>> grade.wait_for_completion(); grade.get_metrics()["accuracy"]
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from headrace.core.params import DataPath
from headrace.core.pipeline import Pipeline
from headrace.engine.tasks import output_path
from headrace.errors import ConflictError, DatastoreError, NotFoundError
from headrace.flows.run_tags import BASE_RUN_TAG, FLOW_KIND_TAG, FLOW_STEP_TAG, FLOW_TAG, VARIANT_TAG
from headrace.flows.spec import load_spec
from headrace.sdk.experiment import Experiment
from headrace.sdk.flow_step import OUTPUT_NAME, FlowStep
from headrace.sdk.runs import PipelineRun, StepRun

__all__ = ["BASE_RUN_TAG", "FLOW_KIND_TAG", "FLOW_STEP_TAG", "FLOW_TAG", "evaluate_flow", "flow_outputs",
           "flow_step_run", "flow_summary", "run_flow"]


DATA_PREFIX = "flow-data"
"""Where local data files are uploaded on the default datastore: ``flow-data/<sha256>/<file name>``."""


def run_flow(ws: Any, flow_dir: str | os.PathLike[str], data: Any, column_mapping: Mapping[str, Any] | None = None,
             *, experiment_name: str | None = None, resume_from: Any = None, concurrency: int = 4,
             line_timeout: float | None = None, allow_reuse: bool = False, tags: Mapping[str, str] | None = None,
             description: str | None = None, init: Mapping[str, Any] | None = None,
             variant: str | None = None, connections: Mapping[str, Any] | None = None,
             overrides: Mapping[str, Any] | None = None,
             environment_variables: Mapping[str, str] | None = None) -> PipelineRun:
    """Submit a batch run of a flow over a data file; returns the queued ``PipelineRun`` at once.

    Args:
        ws: the workspace.
        flow_dir: the flow folder, a flex flow folder (``flow.flex.yaml``) or a ``.prompty`` file.
        data: a local ``.jsonl``/``.json``/``.csv`` file or folder (uploaded to the default datastore under
            ``flow-data/<sha256>/``), or a ``DataPath``.
        column_mapping: flow input -> ``${data.COL}`` or a literal.
        experiment_name: default: the flow folder's name.
        resume_from: an earlier run of the flow (a ``PipelineRun`` or its id), even a failed or canceled one:
            its completed lines are kept, the others run.
        concurrency: lines running at the same time.
        line_timeout: seconds one line may take.
        allow_reuse: reuse an identical earlier run's results instead of running.
        tags: more run tags.
        description: the run's description.
        init: a flex flow class entry's ``__init__`` arguments (prompt flow's ``init=``).
        variant: the node variant to run, ``${NODE.VARIANT_ID}`` (prompt flow's ``variant=``); recorded in the
            run's ``headrace.flow_variant`` tag.
        connections: other connections for some nodes, ``{node: {"connection": NAME, "deployment_name": ...}}``
            (prompt flow's ``connections=``); overrides: fields set by path, ``{"nodes.NODE.inputs.KEY": v}``.
        environment_variables: set for the flow's code in the step (prompt flow's ``environment_variables=``).

    Raises:
        DefinitionError: the flow, the data or the mapping is invalid (every problem listed).
        NotFoundError: ``resume_from`` names no run, or a run without flow outputs.
        ConflictError: ``resume_from`` has not ended yet.
    """
    spec = load_spec(flow_dir, init=dict(init) if init is not None else None, variant=variant)
    resume = _ended_outputs(_run(ws, resume_from), "resume from") if resume_from is not None else None
    step = FlowStep(_step_name(_name(spec)), _path(spec), data=_data_path(ws, data),
                    column_mapping=column_mapping, resume_from=resume, concurrency=concurrency,
                    line_timeout=line_timeout, allow_reuse=allow_reuse,
                    build_root=_builds(ws), init=init, variant=variant, connections=connections,
                    overrides=overrides, environment_variables=_env(environment_variables))
    run_tags = {FLOW_TAG: _name(spec), FLOW_KIND_TAG: "batch", FLOW_STEP_TAG: step.name, **(tags or {})}
    if variant is not None:
        run_tags[VARIANT_TAG] = variant
    return _submit(ws, step, experiment_name or _name(spec), run_tags, description)


def evaluate_flow(ws: Any, eval_dir: str | os.PathLike[str], base_run: Any, data: Any = None,
                  column_mapping: Mapping[str, Any] | None = None, *, experiment_name: str | None = None,
                  concurrency: int = 4, line_timeout: float | None = None, allow_reuse: bool = False,
                  tags: Mapping[str, str] | None = None, description: str | None = None,
                  init: Mapping[str, Any] | None = None, variant: str | None = None,
                  connections: Mapping[str, Any] | None = None,
                  overrides: Mapping[str, Any] | None = None,
                  environment_variables: Mapping[str, str] | None = None) -> PipelineRun:
    """Submit an evaluation run: an evaluation flow over a flow run's lines, joined by line number.

    Args:
        ws: the workspace.
        eval_dir: the evaluation flow's folder (its aggregation nodes' ``log_metric`` become run metrics).
        base_run: the flow run to evaluate (a ``PipelineRun`` or its id).
        data: the rows to join (usually the base run's data with the ground truth), as for ``run_flow``;
            None to evaluate the base run's lines alone (``${run.inputs.X}`` / ``${run.outputs.X}`` only).
        column_mapping: eval input -> ``${data.COL}``, ``${run.outputs.X}``, ``${run.inputs.X}`` or a literal.
        experiment_name: default: the base run's experiment.
        concurrency / line_timeout / allow_reuse / tags / description / init / variant / connections /
            overrides / environment_variables: as for ``run_flow``.

    Raises:
        DefinitionError: the flow, the data or the mapping is invalid.
        NotFoundError: the base run does not exist or has no flow outputs.
        ConflictError: the base run has not ended yet.
    """
    spec = load_spec(eval_dir, init=dict(init) if init is not None else None, variant=variant)
    base = _run(ws, base_run)
    step = FlowStep(_step_name(_name(spec)), _path(spec),
                    data=_data_path(ws, data) if data is not None else None, column_mapping=column_mapping,
                    base_run_outputs=_ended_outputs(base, "evaluate"), concurrency=concurrency, line_timeout=line_timeout,
                    allow_reuse=allow_reuse, build_root=_builds(ws), init=init, variant=variant,
                    connections=connections, overrides=overrides,
                    environment_variables=_env(environment_variables))
    run_tags = {FLOW_TAG: _name(spec), FLOW_KIND_TAG: "evaluation", FLOW_STEP_TAG: step.name,
                BASE_RUN_TAG: base.id, **(tags or {})}
    return _submit(ws, step, experiment_name or base.experiment.name, run_tags, description)


def _env(given: Mapping[str, str] | None) -> dict[str, str] | None:
    return {str(k): str(v) for k, v in given.items()} if given else None


def _path(spec: Any) -> Path:
    """What to load the flow from again: the folder, or a prompty's file."""
    return spec.entry.path if spec.entry is not None else spec.folder


def _name(spec: Any) -> str:
    """The flow's name: its folder's, or a prompty file's stem."""
    return spec.entry.path.stem if spec.entry is not None and spec.entry.kind == "prompty" else spec.folder.name


def flow_step_run(run: PipelineRun) -> StepRun:
    """The flow step of a flow run (the step its tag names, else the only step with a ``flow_outputs`` output).

    Raises:
        NotFoundError: the run has no flow step.
    """
    steps = run.get_steps()
    name = run.tags.get(FLOW_STEP_TAG)
    found = [s for s in steps if s.name == name] if name else []
    if not found:
        found = [s for s in steps if OUTPUT_NAME in s._refresh().outputs]
    if len(found) != 1:
        raise NotFoundError("flow step", run.id, "the run is not a flow run (made by run_flow or evaluate_flow)")
    return found[0]


def flow_outputs(run: PipelineRun) -> DataPath:
    """Where a flow run's output folder is (``outputs.jsonl``, ``traces.jsonl``, ``metrics.json``...).

    A failed or canceled run has no recorded output, but what its flow step wrote before it stopped is still
    found at the step's output path (on a datastore where steps write in place: the local default).

    Raises:
        NotFoundError: the run is not a flow run, or its flow step wrote nothing.
    """
    step = flow_step_run(run)
    location = step._refresh().outputs.get(OUTPUT_NAME)
    ws = run.experiment.workspace
    if location is not None:
        return DataPath(location["datastore"], location["path"])
    ds = ws.get_default_datastore()
    path = output_path(run.id, step.name, OUTPUT_NAME)
    if not ds._impl.exists(f"{path}/outputs.jsonl"):
        raise NotFoundError("flow outputs", run.id, f"its step {step.name!r} ({step.status}) wrote no outputs.jsonl")
    return DataPath(ds, path)


def flow_summary(run: PipelineRun) -> dict[str, Any]:
    """What a flow run did: status, line counts, metrics and where the outputs are (JSON-safe).

    Keys: ``run_id``, ``experiment``, ``status``, ``variant`` (or None), ``lines``, ``lines_completed``, ``lines_failed``,
    ``lines_resumed``, ``metrics``, ``warnings``, ``outputs`` (``datastore``, ``path``, and ``local_path`` when
    the datastore is a local folder), ``error``. Counts are None until the step wrote its summary.
    """
    info: dict[str, Any] = {"run_id": run.id, "experiment": run.experiment.name, "status": run.get_status(),
                            "variant": run.tags.get(VARIANT_TAG),
                            "lines": None, "lines_completed": None, "lines_failed": None, "lines_resumed": None,
                            "metrics": {}, "warnings": [], "outputs": None, "error": run._record.error}
    try:
        where = flow_outputs(run)
    except NotFoundError:
        steps = run.get_steps()
        info["error"] = info["error"] or next((s.error for s in steps if s.error), None)
        return info
    ds = run.experiment.workspace._backend.datastore(where.datastore_name)
    info["outputs"] = {"datastore": where.datastore_name, "path": where.path_on_datastore,
                       "local_path": ds.local_path(where.path_on_datastore)}
    try:
        summary = json.loads(ds.read_bytes(f"{where.path_on_datastore}/summary.json"))
    except (DatastoreError, NotFoundError, OSError, ValueError):
        return info
    for key in ("lines", "lines_completed", "lines_failed", "lines_resumed", "metrics", "warnings"):
        info[key] = summary.get(key, info[key])
    return info


def flow_traces(run: PipelineRun) -> list[dict[str, Any]]:
    """Every line's node traces of a flow run, in line order (the rows of its ``traces.jsonl``).

    Each row has ``line_number``, ``status``, ``start_time``, ``end_time``, ``resumed`` and ``nodes``
    (node name -> ``name``, ``type``, ``status``, ``inputs``, ``output``, ``latency_ms``, ``llm`` (tokens,
    what the budget cut), ``error``, ``children``). Lines still running are not there yet.

    Raises:
        NotFoundError: the run is not a flow run, or its flow step wrote nothing.
    """
    where = flow_outputs(run)
    ds = run.experiment.workspace._backend.datastore(where.datastore_name)
    try:
        text = ds.read_bytes(f"{where.path_on_datastore}/traces.jsonl").decode("utf-8")
    except (DatastoreError, NotFoundError, OSError) as exc:
        raise NotFoundError("flow traces", run.id, f"no traces.jsonl in its outputs ({exc})") from exc
    rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return sorted(rows, key=lambda r: r.get("line_number", 0))


def _ended_outputs(run: PipelineRun, what: str) -> DataPath:
    """A run's flow outputs, once it has ended (a running step's lines are not all there yet)."""
    status = run.get_status()
    if status not in ("Finished", "Failed", "Canceled"):
        raise ConflictError(f"run {run.id} is {status}: {what} it once it has ended (`headrace run wait {run.id}`)")
    return flow_outputs(run)


def _run(ws: Any, run: Any) -> PipelineRun:
    if isinstance(run, PipelineRun):
        return run
    return PipelineRun.get(ws, str(run))


def _submit(ws: Any, step: FlowStep, experiment: str, tags: dict[str, str], description: str | None) -> PipelineRun:
    pipeline = Pipeline(workspace=ws, steps=[step], description=description or f"flow {_name(step.spec)}")
    return Experiment(ws, experiment).submit(pipeline, tags=tags, description=description)


def _step_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "flow"


def _builds(ws: Any) -> Path | None:
    return Path(ws.home) / "flow-builds" if getattr(ws, "home", None) is not None else None


def _data_path(ws: Any, data: Any) -> Any:
    """A ``DataPath`` (or parameter) as is; a local file or folder uploaded once, named by its content."""
    if not isinstance(data, str | os.PathLike):
        return data
    local = Path(data)
    if not local.exists():
        raise DatastoreError(f"data {local} does not exist: give a local .jsonl/.json/.csv file or folder, or a "
                             "DataPath")
    files = sorted(p for p in local.rglob("*") if p.is_file()) if local.is_dir() else [local]
    digest = hashlib.sha256()
    for f in files:
        digest.update(f"\0{f.relative_to(local).as_posix() if local.is_dir() else ''}\0".encode())
        digest.update(hashlib.sha256(f.read_bytes()).digest())
    target = f"{DATA_PREFIX}/{digest.hexdigest()}"
    ds = ws.get_default_datastore()
    dest = f"{target}/{local.name}"
    if not ds._impl.exists(dest):
        if local.is_dir():
            ds.upload(str(local), target_path=dest, overwrite=True)
        else:
            ds.upload_files([str(local)], target_path=target, overwrite=True)
    return DataPath(ds, dest)
