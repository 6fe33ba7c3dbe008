"""The run a step script sees through ``Run.get_context()``.

Inside a step, values are appended as JSON lines to files in ``HEADRACE_CONTEXT_DIR``; the
agent stores them when the step ends. This needs no database or server access from the step,
so a step on a remote worker logs the same way.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from typing import Any

from headrace.engine import compute as c
from headrace.engine.dataset_inputs import DATASETS_FILE
from headrace.errors import RunError


class _Target:
    """Writes metric and tag lines for one scope ("step" or "parent")."""

    def __init__(self, context_dir: str | None, scope: str):
        self._dir = context_dir
        self._scope = scope

    def write(self, filename: str, record: dict[str, Any]) -> None:
        line = json.dumps({**record, "scope": self._scope}, default=str)
        if self._dir is None:
            print(f"[offline run] {filename.split('.')[0]}: {line}")
            return
        with open(os.path.join(self._dir, filename), "a", encoding="utf-8") as f:
            f.write(line + "\n")


class _LoggingRun:
    """``log``, ``log_list``, ``log_row`` and ``tag``, shared by the step run and its parent."""

    _target: _Target

    def log(self, name: str, value: Any, description: str = "") -> None:
        """Log a value; logging the same name again makes a series."""
        self._target.write(c.METRICS_FILE, {"name": name, "value": _jsonable(value), "kind": "scalar"})

    def log_list(self, name: str, value: list[Any], description: str = "") -> None:
        for v in value:
            self.log(name, v)

    def log_row(self, name: str, description: str | None = None, **kwargs: Any) -> None:
        """Log one row of a table metric: ``run.log_row("roc", fpr=0.1, tpr=0.8)``."""
        row = {k: _jsonable(v) for k, v in kwargs.items()}
        self._target.write(c.METRICS_FILE, {"name": name, "value": row, "kind": "row"})

    def tag(self, key: str, value: Any = "") -> None:
        self._target.write(c.TAGS_FILE, {"key": key, "value": str(value)})

    set_tags_item = tag


class _ExperimentRef:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"Experiment(name={self.name!r})"


class _ParentRun(_LoggingRun):
    """The pipeline run, seen from a step: values logged here land on the pipeline run."""

    def __init__(self, run_id: str, experiment: _ExperimentRef, context_dir: str | None):
        self.id = run_id
        self.experiment = experiment
        self._target = _Target(context_dir, "parent")


class StepContextRun(_LoggingRun):
    """The step run a script executes in."""

    offline = False

    def __init__(self, env: dict[str, str]):
        self.id = env[c.ENV_STEP_RUN_ID]
        self.name = env.get(c.ENV_STEP_NAME, "")
        self.experiment = _ExperimentRef(env.get(c.ENV_EXPERIMENT, ""))
        context_dir = env.get(c.ENV_CONTEXT_DIR)
        self._context_dir = context_dir
        self._target = _Target(context_dir, "step")
        self.parent = _ParentRun(env[c.ENV_RUN_ID], self.experiment, context_dir)

    @property
    def input_datasets(self) -> dict[str, Any]:
        """The step's dataset inputs by name: a local path for mount and download inputs, a dataset object
        (reading the files staged for this step) for direct ones."""
        if self._context_dir is None:
            return {}
        path = os.path.join(self._context_dir, DATASETS_FILE)
        if not os.path.exists(path):
            return {}
        with open(path, encoding="utf-8") as f:
            staged = json.load(f)
        from headrace.sdk.dataset import staged_dataset

        return {name: staged_dataset(info) if info["mode"] == "direct" else info["path"]
                for name, info in staged.items()}

    def __repr__(self) -> str:
        return f"Run(id={self.id!r}, step={self.name!r})"


class OfflineRun(_LoggingRun):
    """What ``Run.get_context()`` returns outside a pipeline: it prints what it is given."""

    offline = True

    def __init__(self) -> None:
        self.id = f"OfflineRun_{uuid.uuid4().hex[:8]}"
        self.name = "offline"
        self.experiment = _ExperimentRef("offline")
        self._target = _Target(None, "step")
        self.parent = None

    def __repr__(self) -> str:
        return f"OfflineRun(id={self.id!r})"


def current_run(allow_offline: bool = True) -> Any:
    env = dict(os.environ)
    if c.ENV_STEP_RUN_ID in env and c.ENV_RUN_ID in env:
        return StepContextRun(env)
    if not allow_offline:
        raise RunError("Run.get_context(allow_offline=False) called outside a pipeline step")
    print("headrace: not inside a pipeline step; using an offline run that prints logged values",
          file=sys.stderr)
    return OfflineRun()


def _jsonable(value: Any) -> Any:
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if hasattr(value, "item"):  # numpy scalars
        try:
            return value.item()
        except (TypeError, ValueError):
            pass
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)
