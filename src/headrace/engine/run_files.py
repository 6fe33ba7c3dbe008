"""What a script leaves behind besides its logs: its context lines and its run files.

A script writes through ``Run.get_context()`` into its context folder (metrics, tags, properties,
``complete``/``fail``/``cancel`` lines, copies of uploaded files) and may write ``./outputs`` and
``./logs`` in its working directory; a child run it started keeps its uploads under ``child_files/<id>``,
stored as that child's run files. Every compute target calls ``read_context`` and
``capture_files`` when a step ends, so the agent records them the same way wherever the step ran.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from headrace.datastores.base import Datastore
from headrace.engine import compute as c
from headrace.engine import logged_models
from headrace.errors import HeadraceError
from headrace.storage.records import StepStatus

logger = logging.getLogger(__name__)


def files_path(owner_id: str) -> str:
    """Artifact-datastore folder of the files kept with a run or step run (ids are unique across both)."""
    return f"runfiles/{owner_id}"


def logged_model_path(model_id: str) -> str:
    """Artifact-datastore folder of the files of an MLflow logged model (``mlflow.<flavor>.log_model``)."""
    return f"logged-models/{model_id}/artifacts"


def read_context(context_dir: Path, outcome: c.StepOutcome) -> None:
    """Add what the script logged to ``outcome``; a ``fail()`` or ``cancel()`` it called decides how it ended."""
    outcome.metrics.extend(jsonl(context_dir / c.METRICS_FILE))
    for line in jsonl(context_dir / c.TAGS_FILE):
        tags = outcome.parent_tags if line.get("scope") == "parent" else outcome.tags
        tags[str(line["key"])] = str(line["value"])
    for line in jsonl(context_dir / c.PROPERTIES_FILE):
        props = outcome.parent_properties if line.get("scope") == "parent" else outcome.properties
        props.update(line.get("values") or {})
    outcome.model_requests.extend(jsonl(context_dir / c.MODELS_FILE))
    outcome.children.extend(read_children(context_dir))
    outcome.logged_models.extend(logged_models.fold(jsonl(context_dir / c.LOGGED_MODELS_FILE)))
    params: dict[str, dict[str, str]] = {}
    for line in jsonl(context_dir / c.PARAMS_FILE):  # what ``mlflow.log_param`` wrote (sdk.mlflow.step_store)
        scoped = params.setdefault(str(line.get("scope", "step")), {})
        scoped.setdefault(str(line["key"]), str(line["value"]))  # an MLflow param never changes
    if "step" in params:
        outcome.properties[c.MLFLOW_PARAMS_PROPERTY] = params["step"]
    if "parent" in params:
        outcome.parent_properties[c.MLFLOW_PARAMS_PROPERTY] = params["parent"]
    for line in jsonl(context_dir / c.STATUS_FILE):
        if outcome.status is not StepStatus.FINISHED:
            break  # the process failed or was stopped anyway
        if line.get("status") == "Failed":
            outcome.status = StepStatus.FAILED
            outcome.error = f"the script called run.fail(): {line.get('error') or 'no details given'}"
        elif line.get("status") == "Canceled":
            outcome.status = StepStatus.CANCELED
            outcome.error = "the script called run.cancel()"


def read_children(context_dir: Path, quiet: bool = False) -> list[dict[str, Any]]:
    """The child runs a script started (``run.child_run()``), in start order: ``{"id", "parent", "name",
    "started_at", "metrics", "tags", "properties", "status", "error", "ended_at"}`` each (``status`` None
    when the script never ended it). Each line of the file names its child and the file it stands for.
    ``quiet``: the script still runs (see ``jsonl``)."""
    return children_from_lines(jsonl(context_dir / c.CHILDREN_FILE, quiet=quiet))


def children_from_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``read_children`` of these lines of a ``CHILDREN_FILE`` (a target that gets them from elsewhere)."""
    log = ChildrenLog()
    log.add(lines)
    return log.children()


class ChildrenLog:
    """``children_from_lines``, fed as the lines come (a running step's: each line is handled once)."""

    def __init__(self) -> None:
        self._children: dict[str, dict[str, Any]] = {}

    def children(self) -> list[dict[str, Any]]:
        """The children so far (their dicts grow with later lines: read them, do not keep them)."""
        return [child for child in self._children.values() if child["parent"]]

    def snapshot(self) -> list[dict[str, Any]]:
        """``children()`` as copies, for a reader on another thread than the one adding lines."""
        return [{**ch, "metrics": list(ch["metrics"]), "tags": dict(ch["tags"]), "properties": dict(ch["properties"])}
                for ch in self.children()]

    def add(self, lines: list[dict[str, Any]]) -> None:
        _add_child_lines(self._children, lines)


def _add_child_lines(children: dict[str, dict[str, Any]], lines: list[dict[str, Any]]) -> None:
    for line in lines:
        child_id, kind = str(line.get("child") or ""), line.get("file")
        if kind == "start":
            children.setdefault(child_id, {"id": child_id, "parent": str(line.get("parent") or ""),
                                           "name": line.get("name"), "kind": line.get("kind"),
                                           "started_at": line.get("at"), "metrics": [],
                                           "tags": {}, "properties": {}, "status": None, "error": None,
                                           "ended_at": None})
            continue
        child = children.get(child_id)
        if child is None:
            continue
        if kind == c.METRICS_FILE:
            child["metrics"].append(line)
        elif kind == c.TAGS_FILE:
            child["tags"][str(line["key"])] = str(line["value"])
        elif kind == c.PROPERTIES_FILE:
            child["properties"].update(line.get("values") or {})
        elif kind == c.STATUS_FILE and child["status"] is None:  # the first ending counts, as for a run
            child["status"], child["error"], child["ended_at"] = line.get("status"), line.get("error"), line.get("at")


def capture_files(artifacts: Datastore, task: c.StepTask, cwd: Path, context_dir: Path, log: list[str]) -> None:
    """Keep ``./outputs``, ``./logs`` and the files the script uploaded as run files (best effort: a file
    that cannot be stored is named in the execution log, the step's outcome stands)."""
    if not task.files_path:
        return
    sources = [(cwd / name, f"{task.files_path}/{name}", f"{name}/") for name in c.CAPTURED_FOLDERS]
    sources.append((context_dir / c.FILES_DIR, task.files_path, "uploaded files"))
    children = context_dir / c.CHILD_FILES_DIR
    if children.is_dir():  # each child run's files go where any run's are: under its own id
        sources += [(child, files_path(child.name), f"the files of child run {child.name}")
                    for child in sorted(children.iterdir()) if child.is_dir()]
    models = context_dir / c.LOGGED_MODELS_DIR
    if models.is_dir():  # MLflow models the step logged: where every logged model's files are
        sources += [(model / "artifacts", logged_model_path(model.name), f"the files of MLflow model {model.name}")
                    for model in sorted(models.iterdir()) if model.is_dir()]
    for folder, target, what in sources:
        if not folder.is_dir() or not any(folder.iterdir()):
            continue
        try:
            size = artifacts.upload(str(folder), target, overwrite=True)
        except HeadraceError as exc:
            log.append(f"run files: could not keep {what}: {exc}")
            continue
        log.append(f"run files: kept {what} ({size} bytes)")


def jsonl(path: Path, quiet: bool = False) -> list[dict[str, Any]]:
    """The JSON lines of a context file; a line cut by a killed process is skipped, the rest kept.

    ``quiet`` (a running script's file): stop at the first incomplete line, which is still being written.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return []
    if quiet:
        text = text[: text.rfind("\n") + 1]
    out = []
    for raw in text.splitlines():
        try:
            out.append(json.loads(raw))
        except ValueError:
            if quiet:
                break
            logger.warning("skipping unreadable context line %r in %s", raw[:80], path)
    return out


class JsonlTail:
    """The lines of a context file a running script appends to, read incrementally: each poll parses only
    the lines completed since the last one (a long sweep's files grow to many thousand lines)."""

    def __init__(self, path: Path, keep: bool = True):
        self.path = path
        self.offset = 0
        self.keep = keep  # False: only ``read_new`` is used, the lines are not kept here
        self.lines: list[dict[str, Any]] = []

    def read(self) -> list[dict[str, Any]]:
        """Every complete line so far (the same list, grown; do not change it)."""
        self.read_new()
        return self.lines

    def read_new(self) -> list[dict[str, Any]]:
        """The lines completed since the last read."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return []
        end = data.rfind(b"\n") + 1  # the rest is a line still being written
        new = []
        for raw in data[:end].splitlines():
            try:
                new.append(json.loads(raw))
            except ValueError:
                logger.warning("skipping unreadable context line %r in %s", raw[:80], self.path)
        self.offset += end
        if self.keep:
            self.lines.extend(new)
        return new


def remove_context(workdir: Path) -> None:
    """Forget what an earlier attempt (or step) wrote into a work folder's context files."""
    for name in (c.METRICS_FILE, c.TAGS_FILE, c.PROPERTIES_FILE, c.STATUS_FILE, c.MODELS_FILE, c.PARAMS_FILE,
                 c.LOGGED_MODELS_FILE, c.CHILDREN_FILE):
        try:
            os.unlink(workdir / name)
        except FileNotFoundError:
            pass
    for folder in (c.FILES_DIR, c.CHILD_FILES_DIR, c.LOGGED_MODELS_DIR):
        shutil.rmtree(workdir / folder, ignore_errors=True)
