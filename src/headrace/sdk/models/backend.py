"""What ``Model`` objects need from a workspace: the registry services in process, or the server's REST API.

Both answer with ``ModelRecord``/``StageChangeRecord``; a remote registration uploads only the contents the
server lacks (blobs are content-addressed), then registers the version.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from headrace.errors import ConfigError, ModelError
from headrace.services import model_files
from headrace.services import models as svc_models
from headrace.storage.model_records import ModelRecord, StageChangeRecord


class LocalModels:
    """The registry of an embedded workspace."""

    def __init__(self, svc: Any):
        self.svc = svc
        self.actor = svc_models.local_actor()

    def register_local(self, model_path: str, name: str, child_paths: Iterable[str] | None,
                       **details: Any) -> ModelRecord:
        details["datasets"] = svc_models.dataset_refs(self.svc, details.get("datasets") or ())
        return svc_models.register_local(self.svc, model_path, name, actor=self.actor, child_paths=child_paths,
                                         **details)

    def register_from_run(self, run_id: str, model_path: str, name: str, step_name: str | None,
                          **details: Any) -> ModelRecord:
        details["datasets"] = svc_models.dataset_refs(self.svc, details.get("datasets") or ())
        return svc_models.register_from_run(self.svc, run_id, model_path, name, actor=self.actor,
                                            step_name=step_name, **details)

    def get(self, name: str | None, version: Any, alias: str | None, model_id: str | None) -> ModelRecord:
        return svc_models.get(self.svc, name, version, alias=alias, id=model_id)

    def list(self, name: str | None, latest: bool, run_id: str | None) -> list[ModelRecord]:
        return svc_models.list_versions(self.svc, name, latest=latest, run_id=run_id)

    def update(self, name: str, version: int, **changes: Any) -> ModelRecord:
        return svc_models.update(self.svc, name, version, **changes)

    def delete(self, name: str, version: int) -> None:
        svc_models.delete(self.svc, name, version)

    def transition(self, name: str, version: int, stage: Any, comment: str | None,
                   archive_existing: bool) -> ModelRecord:
        return svc_models.transition_stage(self.svc, name, version, stage, actor=self.actor, comment=comment,
                                           archive_existing=archive_existing)[0]

    def history(self, name: str, version: int | None) -> list[StageChangeRecord]:
        return self.svc.store.list_model_stage_changes(name, version)

    def aliases(self, record: ModelRecord) -> list[str]:
        return svc_models.aliases_of(self.svc, record)

    def set_alias(self, name: str, alias: str, version: int) -> None:
        svc_models.set_alias(self.svc, name, alias, version, actor=self.actor)

    def delete_alias(self, name: str, alias: str) -> None:
        svc_models.delete_alias(self.svc, name, alias)

    def download(self, record: ModelRecord, target_dir: str, exist_ok: bool) -> str:
        return svc_models.download(self.svc, record, target_dir, exist_ok)


def record_of(w: Any) -> ModelRecord:
    return ModelRecord(id=w.Id, name=w.Name, version=w.Version, root=w.Root, files=list(w.Files),
                       file_count=w.FileCount, total_bytes=w.TotalBytes, description=w.Description, tags=dict(w.Tags),
                       properties=dict(w.Properties), framework=w.Framework, framework_version=w.FrameworkVersion,
                       datasets=list(w.Datasets), run_id=w.RunId, step_name=w.StepName,
                       experiment_name=w.ExperimentName, source=w.Source, created_by=w.CreatedBy,
                       created_at=w.CreatedTime, stage=w.Stage, stage_changed_at=w.StageChangedTime)


def change_of(w: Any) -> StageChangeRecord:
    return StageChangeRecord(w.Name, w.Version, w.FromStage, w.ToStage, w.ChangedBy, w.ChangedTime, w.Comment)


def _ids(pairs: Iterable[tuple[str, Any]] | None) -> list[tuple[str, str]]:
    return [(str(s), str(i)) for s, i in pairs or ()]


class RemoteModels:
    """The registry of a server, over its REST API."""

    def __init__(self, backend: Any):
        self.client = backend.client

    def register_local(self, model_path: str, name: str, child_paths: Iterable[str] | None,
                       **details: Any) -> ModelRecord:
        pairs = model_files.local_files(model_path, child_paths)
        digests = [(local, rel, *model_files.file_digest(local)) for local, rel in pairs]
        missing = set(self.client.missing_blobs([sha for _, _, sha, _ in digests]))
        for local, _, sha, _ in digests:
            if sha in missing:
                self.client.put_blob(sha, Path(local).read_bytes())
                missing.discard(sha)
        files = [{"path": rel, "size": size, "sha256": sha} for _, rel, sha, size in digests]
        details["datasets"] = _ids(details.get("datasets"))
        return record_of(self.client.register_model(name, pairs[0][1].split("/", 1)[0], files, **details))

    def register_from_run(self, run_id: str, model_path: str, name: str, step_name: str | None,
                          **details: Any) -> ModelRecord:
        details["datasets"] = _ids(details.get("datasets"))
        return record_of(self.client.register_model_from_run(run_id, model_path, name, step_name, **details))

    def get(self, name: str | None, version: Any, alias: str | None, model_id: str | None) -> ModelRecord:
        if model_id is not None:
            from headrace.core.model import parse_id

            name, version = parse_id(model_id)
        if not name:
            raise ModelError("give a model name or id")
        return record_of(self.client.get_model(name, version, alias))

    def list(self, name: str | None, latest: bool, run_id: str | None) -> list[ModelRecord]:
        return [record_of(m) for m in self.client.list_models(name, latest, run_id)]

    def update(self, name: str, version: int, **changes: Any) -> ModelRecord:
        return record_of(self.client.update_model(name, version, **changes))

    def delete(self, name: str, version: int) -> None:
        self.client.delete_model(name, version)

    def transition(self, name: str, version: int, stage: Any, comment: str | None,
                   archive_existing: bool) -> ModelRecord:
        return record_of(self.client.transition_model(name, version, stage, comment, archive_existing).Model)

    def history(self, name: str, version: int | None) -> list[StageChangeRecord]:
        return [change_of(c) for c in self.client.model_history(name, version)]

    def aliases(self, record: ModelRecord) -> list[str]:
        return [a.Alias for a in self.client.model_aliases(record.name) if a.Version == record.version]

    def set_alias(self, name: str, alias: str, version: int) -> None:
        self.client.set_model_alias(name, alias, version)

    def delete_alias(self, name: str, alias: str) -> None:
        self.client.delete_model_alias(name, alias)

    def download(self, record: ModelRecord, target_dir: str, exist_ok: bool) -> str:
        target = Path(target_dir)
        plan = [(f["path"], target.joinpath(*f["path"].split("/"))) for f in record.files]
        if not exist_ok:
            there = [str(dest) for _, dest in plan if dest.exists()]
            if there:
                raise ModelError(f"file already exists: {there[0]}; pass exist_ok=True to replace it")
        for path, dest in plan:
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(self.client.model_file(record.name, record.version, path))
        return os.fspath(target / record.root)


def models_of(workspace: Any) -> Any:
    """The model registry of a workspace: in process when embedded, over REST when remote."""
    backend = workspace._backend
    svc = getattr(backend, "svc", None)
    if svc is not None:
        return LocalModels(svc)
    if getattr(backend, "client", None) is not None:
        return RemoteModels(backend)
    raise ConfigError(f"{type(backend).__name__} serves no model registry")
