"""``run.register_model`` inside a step's or script run's script.

A script has no access to the registry (steps get no workspace credentials), so the call is written to the
step's context folder, checked against what the script can see now, and the agent registers the model when
the step ends, from the files it kept: a step output (``<output name>/<path>``) or ``./outputs``. A
registration that fails then fails the step, naming the call.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from headrace.core.model import check_name, clean_relative
from headrace.engine import compute as c
from headrace.errors import ConfigError, ModelError


class PendingModel:
    """What ``run.register_model`` returns inside a script: the version is known once the step has ended."""

    def __init__(self, name: str, path: str):
        self.name = name
        self.model_path = path
        self.version: int | None = None
        self.id: str | None = None

    def __repr__(self) -> str:
        return f"PendingModel(name={self.name!r}, model_path={self.model_path!r}: registered when the step ends)"


MODEL_FILES = "registered-models"
"""Run files holding what ``Model.register`` copied from a script's own folders (``<name>/<base name>``)."""


class StepWorkspace:
    """``Run.get_context().experiment.workspace`` inside a step or script run.

    A script holds no workspace credentials, so this is not a workspace: ``Model.register(ws, path, name)`` on it
    keeps ``path``'s files with the run and asks the agent to register them when the step ends, as
    ``run.register_model`` does; anything else is refused with a message saying so.
    """

    in_step = True

    def __init__(self, run: Any):
        self._run = run
        self.name = "step"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise ConfigError(f"workspace.{name} is not available inside a step: a step's script has no access to the "
                          "workspace; pass what it needs as step inputs or arguments (Model.register works: it is "
                          "carried out when the step ends)")

    def __repr__(self) -> str:
        return f"StepWorkspace(run={self._run.id!r})"


def register_path(workspace: StepWorkspace, model_path: str, model_name: str, **details: Any) -> PendingModel:
    """``Model.register`` inside a script: keep the file or folder as run files, then request the registration.

    Raises:
        ModelError: nothing at ``model_path``, or a bad name.
    """
    check_name(model_name)
    source = Path(os.fspath(model_path))
    if not source.exists():
        raise ModelError(f"Model.register({model_name!r}): nothing at {os.fspath(model_path)!r} "
                         f"(the script runs in {os.getcwd()})")
    kept = f"{MODEL_FILES}/{model_name}/{source.resolve().name}"
    run = workspace._run
    if source.is_dir():
        run.upload_folder(kept, source)
    else:
        run.upload_file(kept, str(source))
    return request(run, model_name, kept, **details, _kept=True)


def _outputs() -> dict[str, str]:
    prefix = "AZUREML_DATAREFERENCE_"
    return {k[len(prefix):]: v for k, v in os.environ.items() if k.startswith(prefix)}


def check_path(path: str) -> None:
    """Raises ModelError unless ``path`` is in ``./outputs`` (or another kept folder) or in a step output now."""
    first, _, rest = path.partition("/")
    if first in c.CAPTURED_FOLDERS and os.path.exists(path):
        return
    outputs = _outputs()
    if first in outputs and os.path.exists(os.path.join(outputs[first], rest) if rest else outputs[first]):
        return
    here = sorted(p.as_posix() for folder in c.CAPTURED_FOLDERS for p in Path(folder).rglob("*") if p.is_file())
    raise ModelError(f"model path {path!r} is neither in ./outputs nor in an output of this step; ./outputs has: "
                     f"{', '.join(here[:20]) or 'nothing'}; the step's outputs: {', '.join(sorted(outputs)) or 'none'}")


def request(run: Any, model_name: str, model_path: str | None = None, tags: dict | None = None,
            properties: dict | None = None, model_framework: str | None = None,
            model_framework_version: str | None = None, description: str | None = None,
            datasets: list | None = None, sample_input_dataset: Any = None, sample_output_dataset: Any = None,
            _kept: bool = False, **_ignored: Any) -> PendingModel:
    """Record a registration for the agent (see the module docstring).

    Raises:
        ModelError: a bad name, or a path the script has not written (the message lists what it has).
    """
    from headrace.sdk.models.model import dataset_pairs

    check_name(model_name)
    path = clean_relative(model_path or model_name)
    if not _kept:  # kept by register_path: run files, not in the script's folders
        check_path(path)
    if model_framework is None and model_framework_version is not None:
        raise ModelError("model_framework_version needs model_framework")
    run._write(c.MODELS_FILE, {
        "name": model_name, "path": path, "tags": dict(tags or {}), "properties": dict(properties or {}),
        "description": description, "framework": model_framework, "framework_version": model_framework_version,
        "datasets": dataset_pairs(datasets, sample_input_dataset, sample_output_dataset)})
    print(f"Registering model {model_name} from {path} (when this step ends)")
    return PendingModel(model_name, path)


def fetch_model(model_name: str, version: int | None, timeout: float = 600.0) -> str:
    """``Model.get_model_path`` inside a step: ask the agent for the version's files (``engine.step_models``)
    and wait for them; returns the path of the version's root file or folder.

    Raises:
        NotFoundError: no such model or version.
        ModelError: the agent could not copy the files, or gave no answer within ``timeout`` seconds.
        ConfigError: in a ParallelRunStep node on another Dask worker (no agent there), saying what to do.
    """
    import json
    import time
    import uuid

    from headrace.errors import NotFoundError

    if os.environ.get(c.ENV_REMOTE_NODE):
        raise ConfigError(f"Model.get_model_path({model_name!r}) in a ParallelRunStep node on another Dask worker: "
                          "only node 0 (the step's own worker) reaches the agent; give the step HEADRACE_URL and a "
                          "reader token (environment_variables) to read the registry from every node")
    folder = Path(os.environ[c.ENV_CONTEXT_DIR]) / c.MODEL_REQUESTS
    folder.mkdir(parents=True, exist_ok=True)
    req_id = uuid.uuid4().hex
    partial = folder / f".{req_id}.part"
    partial.write_text(json.dumps({"name": model_name, "version": version}), encoding="utf-8")
    os.replace(partial, folder / f"{req_id}.json")
    answer_file = folder / f"{req_id}.answer.json"
    deadline, pause = time.monotonic() + timeout, 0.01
    while not answer_file.exists():
        if time.monotonic() > deadline:
            raise ModelError(f"Model.get_model_path({model_name!r}): the agent gave no answer in {timeout:.0f}s")
        time.sleep(pause)
        pause = min(pause * 2, 0.1)
    answer = json.loads(answer_file.read_text(encoding="utf-8"))
    if "path" in answer:
        return str(answer["path"])
    if answer.get("not_found"):
        raise NotFoundError("model", answer.get("key") or model_name, answer.get("hint") or "")
    raise ModelError(f"Model.get_model_path({model_name!r}): {answer.get('error')}")
