"""MLflow artifacts: the files kept with a run or step run, at ``runfiles/<id>/`` in the artifact store.

The REST proxy (``/api/2.0/mlflow-artifacts``) and the embedded plugin read and write them here; a step's
``mlflow.log_artifact`` files are uploaded to the same place when the step ends (``engine.local``).
"""

from __future__ import annotations

from typing import Any

from headrace.engine.run_files import files_path
from headrace.errors import ConfigError, NotFoundError
from headrace.services.bundle import Services
from headrace.services.mlflow_tracking import resolve


def artifact_path(svc: Services, run_id: str, path: str = "") -> str:
    """Where the run file ``path`` of a run or step run lives in the artifact store.

    Raises:
        NotFoundError: no such run.
        ConfigError: a path leaving the run's folder.
    """
    resolve(svc, run_id)
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ConfigError(f"artifact path {path!r} leaves the run's folder")
    return "/".join([files_path(run_id), *parts])


def list_artifacts(svc: Services, run_id: str, path: str = "") -> list[dict[str, Any]]:
    """The files and folders directly under ``path``: ``{"path", "is_dir", "file_size"}``, paths relative
    to ``path``."""
    root = artifact_path(svc, run_id, path)
    if not svc.artifacts.exists(root):
        return []
    entries: dict[str, dict[str, Any]] = {}
    for info in svc.artifacts.list(root, recursive=True):
        rel = info.path[len(root):].lstrip("/")
        if not rel:
            continue
        head, sep, _ = rel.partition("/")
        entries.setdefault(head, {"path": head, "is_dir": True} if sep else
                           {"path": head, "is_dir": False, "file_size": info.size})
    return sorted(entries.values(), key=lambda e: e["path"])


def read_artifact(svc: Services, run_id: str, path: str) -> bytes:
    """Raises: NotFoundError (no such run or file)."""
    where = artifact_path(svc, run_id, path)
    if not svc.artifacts.exists(where) or svc.artifacts.is_dir(where):
        raise NotFoundError("artifact", path, f"run {run_id}")
    return svc.artifacts.read_bytes(where)


def write_artifact(svc: Services, run_id: str, path: str, data: bytes) -> None:
    """Keep ``data`` as the run file ``path`` (replacing it). Raises: NotFoundError, ConfigError."""
    if not path.strip("/"):
        raise ConfigError("give the artifact a file name")
    svc.artifacts.write_bytes(artifact_path(svc, run_id, path), data)
