"""MLflow artifacts: the files kept with a run or step run, at ``runfiles/<id>/`` in the artifact store, and
those of a logged model, at ``logged-models/<id>/artifacts/``.

The REST proxy (``/api/2.0/mlflow-artifacts``) and the embedded plugin read and write them here; a step's
``mlflow.log_artifact`` files are uploaded to the same place when the step ends (``engine.local``). An
*owner* is a run id or ``logged-models/<model id>/artifacts`` (``split``).
"""

from __future__ import annotations

from typing import Any

from headrace.engine.run_files import files_path, logged_model_path
from headrace.errors import ConfigError, NotFoundError
from headrace.services.bundle import Services
from headrace.services.mlflow_tracking import resolve

MODELS = "logged-models"


def split(path: str) -> tuple[str, str]:
    """A proxy path as (owner, path under it): ``<run id>/<path>`` or ``logged-models/<id>/artifacts/<path>``."""
    head, _sep, rest = path.strip("/").partition("/")
    if head != MODELS:
        return head, rest
    model_id, _sep, rest = rest.partition("/")
    sub, _sep, rest = rest.partition("/")
    return f"{MODELS}/{model_id}/{sub}", rest


def artifact_path(svc: Services, owner: str, path: str = "") -> str:
    """Where the file ``path`` of a run, step run or logged model (``split``) lives in the artifact store.

    Raises:
        NotFoundError: no such run or logged model.
        ConfigError: a path leaving the owner's folder.
    """
    if owner.startswith(f"{MODELS}/"):
        _models, model_id, sub = (owner.split("/") + ["", ""])[:3]
        if sub != "artifacts":
            raise NotFoundError("artifact folder", owner, "a logged model's files are under its 'artifacts' folder")
        svc.store.get_logged_model(model_id)
        root = logged_model_path(model_id)
    else:
        resolve(svc, owner)
        root = files_path(owner)
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ConfigError(f"artifact path {path!r} leaves the folder of {owner}")
    return "/".join([root, *parts])


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
