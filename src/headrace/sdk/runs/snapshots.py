"""``run.get_snapshot_id()`` and ``run.restore_snapshot()``: the source folder a run ran from, as a ZIP file.

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


def snapshot_id(run: Any) -> str | None:
    """The run's snapshot hash, or None (no snapshot, or one per step of a pipeline run)."""
    given = (run.get_properties() or {}).get("ContentSnapshotId")
    if given:
        return str(given)
    graph_run = run.parent.id if hasattr(run, "_parent") else run.id
    try:
        steps = run._backend.get_run_graph(graph_run).get("steps", [])
    except Exception:  # noqa: BLE001 - a run without a graph (interactive): no snapshot
        return None
    if hasattr(run, "_parent"):  # a step run: its own step's
        steps = [s for s in steps if s.get("name") == run.name]
    found = {s.get("snapshot") for s in steps if s.get("snapshot")}
    return found.pop() if len(found) == 1 else None


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
