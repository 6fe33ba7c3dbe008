"""Azure ML's ``Run`` read API over headrace records: ``get_details`` and a run's files.

A step run's files are its three logs, under Azure ML's names for a pipeline step's logs; a
pipeline run keeps no files of its own (its steps do).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from headrace.core.command_step import command_text
from headrace.errors import NotFoundError
from headrace.storage.run_records import WARNINGS_PROPERTY

STEP_LOG_FILES = {
    "logs/azureml/stdoutlogs.txt": "stdout",
    "logs/azureml/stderrlogs.txt": "stderr",
    "logs/azureml/executionlogs.txt": "execution",
}
"""A step run's file name (Azure ML's) -> the headrace log it holds."""



def utc(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, as Azure ML writes ``startTimeUtc``."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def details(record: Any, *, target: str | None, extra: dict[str, Any]) -> dict[str, Any]:
    """The dict ``Run.get_details()`` returns: Azure ML's keys, then headrace's own in ``extra``."""
    props = {str(k): v for k, v in record.properties.items()}
    out: dict[str, Any] = {
        "runId": record.id, "target": target, "status": record.status.value,
        "startTimeUtc": utc(record.started_at),
        "properties": props, "inputDatasets": [], "outputDatasets": [], "runDefinition": {},
        "logFiles": {}, "submittedBy": None,
    }
    if record.ended_at is not None:  # Azure ML leaves the key out while the run is in progress
        out["endTimeUtc"] = utc(record.ended_at)
    warnings = [line for line in str(props.get(WARNINGS_PROPERTY, "")).splitlines() if line]
    if warnings:
        out["warnings"] = [{"source": "headrace", "message": m} for m in warnings]
    if record.error:
        out["error"] = {"error": {"message": record.error}}
    out.update(extra)
    return out


def logged_models(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``loggedModels`` of ``get_details()``: the MLflow models a run logged (MLflow's JSON in ``found``), newest
    first, each loadable as ``mlflow.<flavor>.load_model(uri)``."""
    out = []
    for model in found:
        info = model.get("info", {})
        stamp = info.get("creation_timestamp_ms")
        out.append({"id": info.get("model_id"), "name": info.get("name"), "uri": f"models:/{info.get('model_id')}",
                    "status": str(info.get("status", "")).removeprefix("LOGGED_MODEL_"),
                    "modelType": info.get("model_type"), "tags": {t["key"]: t["value"] for t in info.get("tags", [])},
                    "createdTimeUtc": utc(datetime.fromtimestamp(int(stamp) / 1000, UTC)) if stamp else None})
    return out


def download(names: list[str], read: Any, name: str, output_file_path: str | os.PathLike[str] | None) -> str:
    """Write the file ``name`` (its text from ``read(name)``) to ``output_file_path``; returns that path.

    With no path, the file's base name in the current folder (Azure ML's default); an existing
    folder receives the file under its base name.

    Raises:
        NotFoundError: the run has no file ``name`` (its files are listed).
    """
    if name not in names:
        raise NotFoundError("run file", name, f"files of this run: {', '.join(names) or 'none'}")
    dest = Path(output_file_path) if output_file_path is not None else Path(os.path.basename(name))
    if dest.is_dir():
        dest = dest / os.path.basename(name)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(read(name), encoding="utf-8")
    return str(dest)


def matches(values: dict[str, Any], wanted: str | dict[str, Any] | None) -> bool:
    """Azure ML's tag/property filter: a name that must be present, or ``{name: value}`` pairs."""
    if wanted is None:
        return True
    if isinstance(wanted, str):
        return wanted in values
    return all(k in values and str(values[k]) == str(v) for k, v in wanted.items())


def run_definition(step: dict[str, Any]) -> dict[str, Any]:
    """Azure ML's ``runDefinition`` of a script or step run, from its step in the frozen graph."""
    args = []
    for arg in step.get("arguments", []):
        if "literal" in arg:
            args.append(str(arg["literal"]))
        elif "data" in arg:
            args.append(f"$AZUREML_DATAREFERENCE_{arg['data']}")
        else:
            args.append(f"$AML_PARAMETER_{arg.get('param')}")
    runconfig = step.get("runconfig") or {}
    environment = step.get("environment") or {k: runconfig[k] for k in ("docker", "python") if k in runconfig}
    command = {"command": command_text(step)} if step.get("kind") == "command" else {}
    return {**command,
        "script": step.get("script_name"), "arguments": args, "target": step.get("compute_target"),
        "environmentVariables": dict(step.get("environment_variables") or {}),
        "environment": environment,
        "sourceDirectory": step.get("source_directory"), "timeoutSeconds": step.get("timeout_seconds"),
        "inputs": list(step.get("inputs", [])), "outputs": list(step.get("outputs", [])),
        "resources": dict(step.get("resources") or {}),  # headrace's: the Dask resources the step asks for
    }
