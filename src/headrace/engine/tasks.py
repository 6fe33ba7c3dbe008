"""Turning one step of a pipeline graph into a self-contained ``StepTask`` for a compute target.

Pure bookkeeping over the frozen graph, the run's parameters and the records of upstream steps;
the only I/O is fingerprinting inputs read from a datastore (for the reuse key).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from headrace import clock
from headrace.datastores.base import Datastore
from headrace.datastores.fingerprint import fingerprint, local_folder
from headrace.engine import compute as c
from headrace.engine.run_files import files_path
from headrace.errors import DatastoreError, HeadraceError
from headrace.storage.records import MetricRecord, RunKind, RunRecord, StepRunRecord

DEFAULT_DATASTORE = "workspaceblobstore"


class StepSetupError(HeadraceError):
    """A step cannot be turned into a task (e.g. an upstream step recorded no such output)."""


def output_path(run_id: str, step: str, output: str) -> str:
    """Run-scoped datastore path of a step output."""
    return f"headrace/runs/{run_id}/{step}/{output}"


MISSING = "missing"
"""The reuse-key fingerprint of a data path input where nothing exists: when data appears, the key changes."""


def log_path(run_id: str, step_run_id: str) -> str:
    """Artifact-datastore folder of a step run's logs."""
    return f"logs/{run_id}/{step_run_id}"


def output_locations(graph: dict[str, Any], run_id: str, step: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Where each output of ``step`` lives once the step finished (``{"datastore", "path"}``)."""
    data = graph["data"]
    return {
        name: {"datastore": data[name].get("datastore") or DEFAULT_DATASTORE,
               "path": _destination(data[name], name, run_id) or output_path(run_id, step["name"], name)}
        for name in step["outputs"]
    }


def _destination(spec: dict[str, Any], name: str, run_id: str) -> str | None:
    """An ``OutputFileDatasetConfig`` destination with Azure ML's ``{run-id}``/``{output-name}`` filled in."""
    template = spec.get("destination")
    if not template:
        return None
    return template.replace("{run-id}", run_id).replace("{output-name}", name)


def upcoming_step(graph: dict[str, Any], run_id: str, step: dict[str, Any], step_run_id: str) -> c.UpcomingStep:
    """What a compute target needs to stage ``step`` before its inputs exist."""
    return c.UpcomingStep(
        run_id=run_id, step_run_id=step_run_id, snapshot_hash=step["snapshot"],
        log_path=log_path(run_id, step_run_id),
        outputs={n: c.DataBinding(loc["datastore"], loc["path"])
                 for n, loc in output_locations(graph, run_id, step).items()},
    )


def build_task(
    *,
    graph: dict[str, Any],
    step: dict[str, Any],
    record: StepRunRecord,
    run: RunRecord,
    records: dict[str, StepRunRecord],
    resolve_datastore: Callable[[str], Datastore],
    small_file_bytes: int,
    default_timeout: float | None,
    log: list[str],
    later: dict[str, tuple[Datastore, str, str]] | None = None,
) -> tuple[c.StepTask, dict[str, str]]:
    """The task for ``step`` and the fingerprint of each of its inputs.

    With ``later``, data path inputs that are folders on local disk are not fingerprinted: each goes into
    ``later`` as ``name: (datastore, datastore name, path)``, for :mod:`late_keys` to fingerprint while the
    step runs.

    Raises:
        HeadraceError: an input cannot be resolved (missing upstream output, unknown datastore,
            unreadable data).
    """
    data = graph["data"]
    inputs: dict[str, c.DataBinding] = {}
    fingerprints: dict[str, str] = {}
    for name in step["inputs"]:
        spec = data[name]
        if spec["kind"] == "pipeline_data":
            producer = records[spec["producer"]]
            out = producer.outputs.get(name)
            if out is None:
                raise StepSetupError(f"input {name!r}: step {spec['producer']!r} recorded no such output")
            inputs[name] = c.DataBinding(out["datastore"], out["path"], file=name if spec.get("file") else None)
            fingerprints[name] = f"step:{producer.reused_from or producer.id}:{name}"
            continue
        if spec["kind"] == "dataset":
            pinned = run.parameters[spec["parameter"]] if "parameter" in spec else spec["dataset"]
            if not isinstance(pinned, dict) or not pinned.get("manifest"):
                raise StepSetupError(f"input {name!r}: the dataset was not pinned to a version at submit")
            inputs[name] = c.DataBinding("", pinned["manifest"], spec.get("mode") or "direct", dataset=pinned)
            fingerprints[name] = f"dataset:{pinned['id']}"  # a version is its exact files
            log.append(f"input {name}: dataset {pinned.get('name') or pinned['id']}"
                       + (f" version {pinned['version']}" if pinned.get("version") else ""))
            continue
        if spec["kind"] == "parameter":
            value = run.parameters[spec["parameter"]]
            ds_name, path = value["datastore"], value["path"]
        else:
            ds_name, path = spec["datastore"], spec["path"]
        inputs[name] = c.DataBinding(ds_name, path, spec.get("mode", "mount"))
        ds = resolve_datastore(ds_name)
        if later is not None and local_folder(ds, path) is not None:
            later[name] = (ds, ds_name, path)
            continue
        try:
            fp = fingerprint(ds, path, small_file_bytes)
        except DatastoreError:
            if ds.exists(path):
                raise
            # As under Azure ML's mount: the script gets the path, which does not exist (yet).
            log.append(f"input {name}: nothing at {path!r} in datastore {ds_name!r} yet; the script gets a "
                       "path that does not exist")
            fingerprints[name] = f"{ds_name}:{path}:{MISSING}"
            continue
        log.append(f"input {name} fingerprint: {describe_fingerprint(fp)}")
        fingerprints[name] = f"{ds_name}:{path}:{fp['digest']}"
    outputs = {
        name: c.DataBinding(loc["datastore"], loc["path"], file=name if data[name].get("file") else None)
        for name, loc in output_locations(graph, run.id, step).items()
    }
    args = _resolve_arguments(step["arguments"], run.parameters)
    command = _resolve_arguments(step["command"], run.parameters) if step.get("kind") == "command" else None
    env = {k: str(v) for k, v in (step.get("environment_variables") or {}).items()}
    env.setdefault("MLFLOW_EXPERIMENT_ID", run.experiment_id)  # the step's MLflow run reports its experiment
    script_run = run.kind is RunKind.SCRIPT
    if script_run:  # the script's Run.get_context() is the script run itself
        env[c.ENV_RUN_KIND] = RunKind.SCRIPT.value
        if run.parent_run_id:
            env[c.ENV_PARENT_RUN_ID] = run.parent_run_id
    for p in step["parameters"]:
        value = run.parameters.get(p)
        if not isinstance(value, dict):
            env[f"AML_PARAMETER_{_env_name(p)}"] = _param_text(value)
    task = c.StepTask(
        run_id=run.id, step_run_id=record.id, step_name=step["name"],
        experiment_name=run.experiment_name, snapshot_hash=step["snapshot"],
        script_name=step.get("script_name") or "", arguments=args, command=command, inputs=inputs,
        transfer=step.get("transfer") if step.get("kind") == "data_transfer" else None, outputs=outputs, env=env,
        log_path=log_path(run.id, record.id),
        timeout_seconds=step.get("timeout_seconds") or default_timeout,
        files_path=files_path(run.id if script_run else record.id),
        environment=step.get("environment"),
        resources=dict(step.get("resources") or {}),
    )
    return task, fingerprints


def _resolve_arguments(encoded: list[dict[str, Any]], parameters: dict[str, Any]) -> list[Any]:
    """Literals and parameter values as text; data stays a ``{"data": name}`` placeholder for the target."""
    args: list[Any] = []
    for arg in encoded:
        if "literal" in arg:
            args.append(str(arg["literal"]))
        elif "data" in arg:
            args.append({"data": arg["data"]})
        else:
            args.append(_param_text(parameters[arg["param"]]))
    return args


def metric_records(run_id: str, step_run_id: str | None, metrics: list[dict[str, Any]],
                   seqs: dict[tuple[str, bool], int] | None = None) -> list[MetricRecord]:
    """The records of what a step logged (``scope: parent`` lines go on the run), numbered per name.

    ``seqs``: how many values of each name earlier calls numbered (updated): ``metrics`` then continues
    those lines, so a running step's new lines are numbered without the old ones again.
    """
    seqs = {} if seqs is None else seqs
    records = []
    for m in metrics:
        on_parent = m.get("scope") == "parent"
        seq = seqs.get((m["name"], on_parent), 0)
        seqs[(m["name"], on_parent)] = seq + 1
        step = m.get("step")
        records.append(MetricRecord(
            run_id=run_id, step_run_id=None if on_parent else step_run_id, name=str(m["name"]), value=m.get("value"),
            kind=m.get("kind", "scalar"), seq=seq, logged_at=_logged_at(m.get("timestamp")),
            step=int(step) if isinstance(step, int | float) else None,
        ))
    return records


def _logged_at(timestamp_ms: Any) -> Any:
    """When a value was logged: the time an MLflow client gave (ms since the epoch), else now."""
    if isinstance(timestamp_ms, int | float) and not isinstance(timestamp_ms, bool):
        try:
            return datetime.fromtimestamp(timestamp_ms / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            pass
    return clock.now()


def describe_fingerprint(fp: dict[str, Any]) -> str:
    files = list(fp["files"].values())
    large = sum("sha256" not in f for f in files)
    how = {0: "content hash", len(files): "size + version"}.get(
        large, f"content hash ({len(files) - large} small), size + version ({large} large)")
    return (f"{fp['datastore']}:{fp['path']} ({fp['kind']}, {len(files)} file(s), {sum(f['size'] for f in files)}"
            f" bytes) by {how}, digest {fp['digest'][:16]}")


def _param_text(value: Any) -> str:
    if isinstance(value, dict):  # a data path parameter used as a plain argument
        return str(value.get("path", ""))
    return str(value)


def _env_name(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)


def write_execution_log(artifacts: Datastore, run_id: str, step_run_id: str, lines: list[str]) -> None:
    """The execution log of a step that did not run (reused, or could not start); best effort."""
    try:
        artifacts.write_bytes(f"{log_path(run_id, step_run_id)}/execution.log", ("\n".join(lines) + "\n").encode())
    except HeadraceError:
        logging.getLogger(__name__).exception("could not write the execution log of step run %s", step_run_id)
