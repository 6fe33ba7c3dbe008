"""The run a script sees through ``Run.get_context()``: its step run in a pipeline step, the script run
itself in a script run (``ScriptRunConfig``), else an offline run that prints.

Inside a step, values are appended as JSON lines to files in ``HEADRACE_CONTEXT_DIR`` and uploaded
files are copied there (a child run's under ``child_files/<its id>``); the agent stores them when the step ends (``engine/run_files.py``). This
needs no database or server access from the step, so a step on a remote worker logs the same way.
Reads (``get_metrics``, ``get_tags``, ``get_file_names``) answer what this process logged.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import uuid
from pathlib import Path
from typing import Any, TextIO

from headrace import clock
from headrace.engine import compute as c
from headrace.engine.dataset_inputs import DATASETS_FILE
from headrace.engine.run_files import jsonl
from headrace.errors import ConfigError, NotFoundError, RunError
from headrace.sdk.runs.logging_api import RunLogging, jsonable

_HANDLES: dict[str, TextIO] = {}  # context file path -> its append handle, for this process


class _ExperimentRef:
    def __init__(self, name: str, run: Any = None):
        self.name = name
        self._run = run

    @property
    def workspace(self) -> Any:
        """The workspace as a script sees it (``Run.get_context().experiment.workspace``): only
        ``Model.register`` works on it, carried out by the agent when the step ends."""
        from headrace.sdk.models.in_step import StepWorkspace

        if self._run is None:
            raise ConfigError("an offline run (a script started outside headrace) has no workspace: "
                              "open one with Workspace.from_config()")
        return StepWorkspace(self._run)

    def __repr__(self) -> str:
        return f"Experiment(name={self.name!r})"


class _InScriptRun(RunLogging):
    """The Run API inside a script, for one scope: "step" (a step run) or "parent" (the run itself)."""

    id: str
    _scope = "step"
    _dir: str | None = None
    _owns_files = True
    _captures_folders = True  # ./outputs and ./logs of the working directory are this run's files

    def _write(self, filename: str, record: dict[str, Any]) -> None:
        line = json.dumps({**record, "scope": self._scope}, default=str)
        if self._dir is None:
            print(f"[offline run] {filename.split('.')[0]}: {line}")
            return
        path = os.path.join(self._dir, filename)
        handle = _HANDLES.get(path)
        if handle is None:  # kept open: a script may log thousands of values; line-buffered, so each is on disk
            handle = _HANDLES[path] = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
        handle.write(line + "\n")

    def _lines(self, filename: str) -> list[dict[str, Any]]:
        if self._dir is None:
            return []
        return [line for line in jsonl(Path(self._dir) / filename) if line.get("scope") == self._scope]

    # -- logging ---------------------------------------------------------------------------
    def _emit(self, items: list[dict[str, Any]]) -> None:
        for item in items:
            self._write(c.METRICS_FILE, item)

    def _files_root(self) -> Path | None:
        """Where this run's uploaded files are copied (kept as its run files when the step ends)."""
        return None if self._dir is None else Path(self._dir) / c.FILES_DIR

    def _put_file(self, name: str, data: bytes) -> None:
        if not self._owns_files:
            raise ConfigError("files are kept on the run the script executes as: call upload_file on "
                              "Run.get_context(), not on its parent")
        root = self._files_root()
        if root is None:
            print(f"[offline run] file {name}: {len(data)} bytes (not kept)")
            return
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    def get_metrics(self, name: str | None = None, recursive: bool = False) -> dict[str, Any]:
        """What this process logged on this run: name -> value, or a list for a series."""
        grouped: dict[str, list[Any]] = {}
        for line in self._lines(c.METRICS_FILE):
            grouped.setdefault(line["name"], []).append(line.get("value"))
        out = {k: (v[0] if len(v) == 1 else v) for k, v in grouped.items()}
        return out if name is None else {k: v for k, v in out.items() if k == name}

    # -- tags and properties ---------------------------------------------------------------
    def tag(self, key: str, value: Any = None) -> None:
        """Set one tag (Azure ML: a tag with no value is ``""``)."""
        self._write(c.TAGS_FILE, {"key": key, "value": "" if value is None else str(value)})

    set_tags_item = tag

    def set_tags(self, tags: dict[str, Any]) -> None:
        """Set several tags."""
        for key, value in tags.items():
            self.tag(key, value)

    def get_tags(self) -> dict[str, str]:
        """The tags this process set on the run."""
        return {str(line["key"]): str(line["value"]) for line in self._lines(c.TAGS_FILE)}

    @property
    def tags(self) -> dict[str, str]:
        return self.get_tags()

    def add_properties(self, properties: dict[str, Any]) -> None:
        """Add immutable properties to the run."""
        self._write(c.PROPERTIES_FILE, {"values": jsonable(dict(properties))})

    def get_properties(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for line in self._lines(c.PROPERTIES_FILE):
            out.update(line.get("values") or {})
        return out

    @property
    def properties(self) -> dict[str, Any]:
        return self.get_properties()

    # -- status ----------------------------------------------------------------------------
    def get_status(self) -> str:
        return "Running"

    @property
    def status(self) -> str:
        return self.get_status()

    def complete(self, _set_status: bool = True) -> None:
        """Harmless inside a script: the run ends when the script exits (0: Completed or Finished)."""
        self._write(c.STATUS_FILE, {"status": "Completed"})

    def fail(self, error_details: Any = None, error_code: str | None = None, _set_status: bool = True) -> None:
        """Mark the run failed: it ends Failed with these details when the script exits."""
        self._write(c.STATUS_FILE, {"status": "Failed", "error": str(error_details or error_code or "")})

    def cancel(self) -> None:
        """Mark the run canceled: it ends Canceled when the script exits."""
        self._write(c.STATUS_FILE, {"status": "Canceled"})

    def flush(self, timeout_seconds: int = 300) -> None:
        """Values are written as they are logged: nothing to flush."""

    # -- files -----------------------------------------------------------------------------
    def get_file_names(self) -> list[str]:
        """Files kept so far: uploaded ones, and what is in ``./outputs`` and ``./logs`` now."""
        names = set()
        root = self._files_root() if self._owns_files else None
        if root is not None:
            names.update(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
        for folder in c.CAPTURED_FOLDERS if self._captures_folders else ():
            names.update(p.as_posix() for p in Path(folder).rglob("*") if p.is_file())
        return sorted(names)

    def download_file(self, name: str, output_file_path: str | os.PathLike[str] | None = None,
                      _validate_checksum: bool = False) -> str:
        """Copy a run file this process kept (see ``get_file_names``) to ``output_file_path``."""
        sources = [Path(name)] if self._captures_folders else []
        root = self._files_root() if self._owns_files else None
        if root is not None:
            sources.insert(0, root / name)
        source = next((p for p in sources if p.is_file()), None)
        if source is None:
            raise NotFoundError("run file", name, f"files of this run: {', '.join(self.get_file_names()) or 'none'}")
        dest = Path(output_file_path) if output_file_path is not None else Path(os.path.basename(name))
        if dest.is_dir():
            dest = dest / os.path.basename(name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)
        return str(dest)

    def register_model(self, model_name: str, model_path: str | None = None, **details: Any) -> Any:
        """Register ``model_path`` (in ``./outputs`` or ``<output name>/<path>`` in a step output) as the next
        version of ``model_name`` when this step ends; a registration that fails then fails the step.

        Raises:
            ModelError: the path is not there now (the message lists what is).
        """
        from headrace.sdk.models.in_step import request

        return request(self, model_name, model_path, **details)

    def get_details(self) -> dict[str, Any]:
        return {"runId": self.id, "status": "Running", "target": "local", "properties": self.get_properties(),
                "tags": self.get_tags(), "runDefinition": {}, "logFiles": {}}

    # -- children --------------------------------------------------------------------------
    def child_run(self, name: str | None = None, run_id: str | None = None, outputs: str | None = None,
                  *, _kind: str | None = None) -> Any:
        """Start a child run of this run: what it logs is its own, and it is recorded under this run (a
        run of its own, listed by ``get_children()``) when the step ends. A child not ended by then
        (``complete()``, ``fail()``, ``cancel()``, or leaving its ``with`` block) takes the step's ending.

        Example:
            >>> with Run.get_context().child_run("fold-1") as child:  # doctest: +SKIP
            ...     child.log("accuracy", 0.9)
        """
        return _ChildRun(self, name, run_id, _kind)


class _ParentRun(_InScriptRun):
    """The pipeline run, seen from a step: values logged here land on the pipeline run."""

    _scope = "parent"
    _owns_files = False

    def __init__(self, run_id: str, experiment: _ExperimentRef, context_dir: str | None):
        self.id = run_id
        self.experiment = experiment
        self._dir = context_dir

    def __repr__(self) -> str:
        return f"Run(id={self.id!r})"


class _RunRef:
    """A script run's parent (a sweep), by id."""

    def __init__(self, run_id: str, experiment: _ExperimentRef):
        self.id = run_id
        self.experiment = experiment

    def __repr__(self) -> str:
        return f"Run(id={self.id!r})"


class _ChildRun(_InScriptRun):
    """A child run started in a script (``child_run``): its lines go to ``CHILDREN_FILE``, each naming it, and
    its files to ``CHILD_FILES_DIR/<its id>`` (kept as its own run files when the step ends)."""

    _captures_folders = False  # ./outputs is the step's

    def __init__(self, parent: _InScriptRun, name: str | None, run_id: str | None, kind: str | None = None):
        self.id = run_id or uuid.uuid4().hex
        self.name = name or self.id
        self.experiment = parent.experiment
        self.parent = parent
        self._dir = parent._dir
        self._write("start", {"parent": parent.id, "name": name, **({"kind": kind} if kind else {})})

    def _write(self, filename: str, record: dict[str, Any]) -> None:
        if self._dir is None:
            print(f"[offline run] child run {self.name}: {filename.split('.')[0]}: {json.dumps(record, default=str)}")
            return
        line = {**record, "child": self.id, "file": filename, "at": clock.now().isoformat()}
        super()._write(c.CHILDREN_FILE, line)

    def _lines(self, filename: str) -> list[dict[str, Any]]:
        if self._dir is None:
            return []
        return [line for line in jsonl(Path(self._dir) / c.CHILDREN_FILE)
                if line.get("child") == self.id and line.get("file") == filename]

    def _files_root(self) -> Path | None:
        return None if self._dir is None else Path(self._dir) / c.CHILD_FILES_DIR / self.id

    def get_status(self) -> str:
        ended = self._lines(c.STATUS_FILE)
        return str(ended[0]["status"]) if ended else "Running"

    def __enter__(self) -> _ChildRun:
        return self

    def __exit__(self, exc_type: Any, exc: Any, _tb: Any) -> None:
        if self.get_status() != "Running":
            return
        if exc_type is None:
            self.complete()
        else:
            self.fail(f"{exc_type.__name__}: {exc}")

    def __repr__(self) -> str:
        return f"Run(id={self.id!r}, name={self.name!r})"


class StepContextRun(_InScriptRun):
    """The step run a pipeline step's script executes in."""

    offline = False

    def __init__(self, env: dict[str, str]):
        self.id = env[c.ENV_STEP_RUN_ID]
        self.name = env.get(c.ENV_STEP_NAME, "")
        self.experiment = _ExperimentRef(env.get(c.ENV_EXPERIMENT, ""), self)
        self._dir = env.get(c.ENV_CONTEXT_DIR)
        self._context_dir = self._dir
        self.parent: Any = _ParentRun(env[c.ENV_RUN_ID], self.experiment, self._dir)

    @property
    def input_datasets(self) -> dict[str, Any]:
        """The step's dataset inputs by name: a local path for mount and download inputs, a dataset object
        (reading the files staged for this step) for direct ones."""
        if self._dir is None:
            return {}
        path = os.path.join(self._dir, DATASETS_FILE)
        if not os.path.exists(path):
            return {}
        with open(path, encoding="utf-8") as f:
            staged = json.load(f)
        from headrace.sdk.dataset import staged_dataset

        return {name: staged_dataset(info) if info["mode"] == "direct" else info["path"]
                for name, info in staged.items()}

    def staged_dataset_info(self, name: str) -> dict[str, Any]:
        """What was staged for dataset input ``name`` (mode, path, version and definition); {} when unknown."""
        path = os.path.join(self._dir or "", DATASETS_FILE)
        if self._dir is None or not os.path.exists(path):
            return {}
        with open(path, encoding="utf-8") as f:
            return dict(json.load(f).get(name) or {})

    def __repr__(self) -> str:
        return f"Run(id={self.id!r}, step={self.name!r})"


class ScriptContextRun(StepContextRun):
    """The script run a ``ScriptRunConfig`` script executes in: what it logs lands on the script run."""

    _scope = "parent"

    def __init__(self, env: dict[str, str]):
        super().__init__(env)
        self.id = env[c.ENV_RUN_ID]
        parent = env.get(c.ENV_PARENT_RUN_ID)
        self.parent = _RunRef(parent, self.experiment) if parent else None

    def __repr__(self) -> str:
        return f"Run(id={self.id!r}, experiment={self.experiment.name!r})"


class OfflineRun(_InScriptRun):
    """What ``Run.get_context()`` returns outside a run: it prints what it is given."""

    offline = True

    def __init__(self) -> None:
        self.id = f"OfflineRun_{uuid.uuid4().hex[:8]}"
        self.name = "offline"
        self.experiment = _ExperimentRef("offline")
        self.parent = None

    def __repr__(self) -> str:
        return f"OfflineRun(id={self.id!r})"


def current_run(allow_offline: bool = True) -> Any:
    env = dict(os.environ)
    if c.ENV_STEP_RUN_ID in env and c.ENV_RUN_ID in env:
        if env.get(c.ENV_RUN_KIND) == "script":
            return ScriptContextRun(env)
        return StepContextRun(env)
    if not allow_offline:
        raise RunError("Run.get_context(allow_offline=False) called outside a pipeline step or script run")
    print("headrace: not inside a pipeline step or script run; using an offline run that prints logged values",
          file=sys.stderr)
    return OfflineRun()
