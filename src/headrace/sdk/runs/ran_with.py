"""What a run ran with: its source snapshot (``run.get_snapshot_id()``, ``run.restore_snapshot()``: the source
folder as a ZIP file) and its environment (``run.get_environment()``).

A script run or a step run has the snapshot of its source folder; an interactive run the one of its
``snapshot_directory`` (property ``ContentSnapshotId``); a pipeline run the one its steps share (steps with
different source folders have one each: restore a step run's, or pass ``snapshot_id``).
"""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from typing import Any

from headrace.errors import ConfigError


def _steps(run: Any) -> list[dict[str, Any]]:
    """The graph steps of a run: a step run's own, a script run's one, a pipeline run's all ([] without a graph)."""
    graph_run = run.parent.id if hasattr(run, "_parent") else run.id
    try:
        steps = run._backend.get_run_graph(graph_run).get("steps", [])
    except Exception:  # noqa: BLE001 - a run without a graph (interactive)
        return []
    if hasattr(run, "_parent"):
        steps = [s for s in steps if s.get("name") == run.name]
    return list(steps)


def snapshot_id(run: Any) -> str | None:
    """The run's snapshot hash, or None (no snapshot, or one per step of a pipeline run)."""
    given = (run.get_properties() or {}).get("ContentSnapshotId")
    if given:
        return str(given)
    found = {s.get("snapshot") for s in _steps(run) if s.get("snapshot")}
    return found.pop() if len(found) == 1 else None


def environment(run: Any) -> Any:
    """The ``Environment`` the run's script ran in (the agent's own Python when it named none).

    Raises:
        ConfigError: a pipeline run (each step has its own: ask a step run), or a run that ran no script.
    """
    from headrace.core.runconfig import DEFAULT_ENVIRONMENT
    from headrace.sdk.environments.environment import Environment

    steps = _steps(run)
    if len(steps) != 1:
        raise ConfigError(f"run {run.id} has {'no script' if not steps else f'{len(steps)} steps'}: each step "
                          "has its own environment; call get_environment() on a step run")
    record = steps[0].get("environment") or {}
    if "spec" in record:
        return Environment._from_spec(record.get("name") or DEFAULT_ENVIRONMENT, record.get("version"), record["spec"])
    env = Environment(DEFAULT_ENVIRONMENT)
    env.python.user_managed_dependencies = True  # the agent's interpreter and packages
    return env


def restore(run: Any, snapshot: str | None, path: str | os.PathLike[str] | None) -> str:
    """Write the snapshot as ``<path>/<snapshot id>.zip`` (path: the working folder); returns its path.

    Raises:
        ConfigError: the run has no single snapshot and none was given.
        NotFoundError: no such snapshot.
    """
    digest = snapshot or snapshot_id(run)
    if digest is None:
        raise ConfigError(f"run {run.id} has no single snapshot (a pipeline run's steps with different source "
                          "folders have one each): call restore_snapshot() on a step run, or pass snapshot_id")
    archive = run._backend.snapshot_archive(digest)
    folder = os.fspath(path) if path is not None else os.getcwd()
    os.makedirs(folder, exist_ok=True)
    target = os.path.join(folder, f"{digest}.zip")
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar, \
            zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            info = zipfile.ZipInfo(member.name.lstrip("./"))
            info.external_attr = (member.mode & 0o777 | 0o100000) << 16
            source = tar.extractfile(member)
            out.writestr(info, source.read() if source is not None else b"")
    return target


class RanWith:
    """``get_snapshot_id``, ``restore_snapshot`` and ``get_environment`` of every run object."""

    def get_snapshot_id(self) -> str | None:
        """The hash of the source snapshot the run ran from, or None."""
        return snapshot_id(self)

    def restore_snapshot(self, snapshot_id: str | None = None, path: str | os.PathLike[str] | None = None) -> str:
        """The run's source snapshot written as ``<path>/<snapshot id>.zip``; returns that path."""
        return restore(self, snapshot_id, path)

    def get_environment(self) -> Any:
        """The ``Environment`` the run's script ran in (a script run's or a step run's)."""
        return environment(self)
