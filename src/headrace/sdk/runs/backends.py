"""The Run API calls of the two workspace backends (mixed into ``LocalBackend`` and ``RemoteBackend``).

Both address a run by its id and a step run by (run id, step run id); both return store records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from headrace.datastores.snapshots import store_snapshot
from headrace.sdk import wire
from headrace.storage.records import ExperimentRecord, RunKind, RunRecord


class LocalTracking:
    """In-process: the services over the local home."""

    svc: Any
    _agent: Any

    def create_experiment(self, name: str) -> ExperimentRecord:
        from headrace.services.runs import _check_experiment_name

        _check_experiment_name(name)
        return self.svc.store.get_or_create_experiment(name)

    def start_run(self, experiment_name: str, **options: Any) -> RunRecord:
        from headrace.services import tracking

        return tracking.start_run(self.svc, experiment_name, **options)

    def end_run(self, run_id: str, status: str, error: str | None = None) -> RunRecord:
        from headrace.services import tracking

        run = tracking.end_run(self.svc, run_id, status, error)
        if self._agent is not None and status != "Completed" and run.kind.agent_runs_it:
            self._agent.cancel(run_id)
        return run

    def log_metrics(self, run_id: str, step_run_id: str | None, items: Iterable[Mapping[str, Any]]) -> int:
        from headrace.services import tracking

        return tracking.log_metrics(self.svc, run_id, step_run_id, items)

    def update_tags(self, run_id: str, step_run_id: str | None, tags: Mapping[str, Any],
                    remove: Iterable[str] = ()) -> dict[str, str]:
        from headrace.services import tracking

        return tracking.update_tags(self.svc, run_id, step_run_id, tags, remove)

    def add_properties(self, run_id: str, step_run_id: str | None, properties: Mapping[str, Any]) -> dict[str, Any]:
        from headrace.services import tracking

        return tracking.add_properties(self.svc, run_id, step_run_id, properties)

    def run_file_names(self, run_id: str, step_run_id: str | None) -> list[str]:
        from headrace.services import tracking

        tracking.owner_check(self.svc, run_id, step_run_id)
        return tracking.run_file_names(self.svc, step_run_id or run_id)

    def read_run_file(self, run_id: str, step_run_id: str | None, name: str) -> bytes:
        from headrace.services import tracking

        return tracking.read_run_file(self.svc, step_run_id or run_id, name)

    def write_run_file(self, run_id: str, step_run_id: str | None, name: str, data: bytes) -> None:
        from headrace.services import tracking

        tracking.owner_check(self.svc, run_id, step_run_id)
        tracking.write_run_file(self.svc, step_run_id or run_id, name, data)

    def list_child_runs(self, run_id: str) -> list[RunRecord]:
        out, cursor = [], None
        while True:
            page, cursor = self.svc.store.list_runs(parent_run_id=run_id, limit=500, cursor=cursor)
            out.extend(page)
            if cursor is None:
                return out

    def store_snapshot(self, folder: str) -> str:
        return store_snapshot(folder, self.svc.artifacts)

    def snapshot_archive(self, digest: str) -> bytes:
        from headrace.services import graphs

        return graphs.snapshot_archive(self.svc, digest)

    def logged_models(self, experiment_id: str, owner_id: str) -> list[dict[str, Any]]:
        from headrace.services import mlflow_models

        return [mlflow_models.model_json(m, lambda i: f"models:/{i}")
                for m in mlflow_models.run_models(self.svc, owner_id)]

    def get_run_graph(self, run_id: str) -> dict[str, Any]:
        return self.svc.store.get_pipeline(self.svc.store.get_run(run_id).pipeline_id).graph


class RemoteTracking:
    """Over HTTP: the ``/api/v1`` Run API routes."""

    client: Any

    def create_experiment(self, name: str) -> ExperimentRecord:
        return wire.experiment_record(self.client.create_experiment(name))

    def start_run(self, experiment_name: str, *, kind: RunKind = RunKind.INTERACTIVE, parent_run_id: str | None = None,
                  tags: Mapping[str, Any] | None = None, properties: Mapping[str, Any] | None = None,
                  description: str | None = None) -> RunRecord:
        return wire.run_record(self.client.start_run(
            experiment_name, parent_run_id=parent_run_id, tags={str(k): str(v) for k, v in (tags or {}).items()},
            properties=properties, description=description, kind=RunKind(kind).value))

    def end_run(self, run_id: str, status: str, error: str | None = None) -> RunRecord:
        return wire.run_record(self.client.end_run(run_id, status, error))

    def log_metrics(self, run_id: str, step_run_id: str | None, items: Iterable[Mapping[str, Any]]) -> int:
        return self.client.log_metrics(run_id, step_run_id, items)

    def update_tags(self, run_id: str, step_run_id: str | None, tags: Mapping[str, Any],
                    remove: Iterable[str] = ()) -> dict[str, str]:
        return self.client.update_tags(run_id, step_run_id, {str(k): "" if v is None else str(v)
                                                             for k, v in tags.items()}, remove)

    def add_properties(self, run_id: str, step_run_id: str | None, properties: Mapping[str, Any]) -> dict[str, Any]:
        return self.client.add_properties(run_id, step_run_id, properties)

    def run_file_names(self, run_id: str, step_run_id: str | None) -> list[str]:
        return self.client.run_file_names(run_id, step_run_id)

    def read_run_file(self, run_id: str, step_run_id: str | None, name: str) -> bytes:
        return self.client.read_run_file(run_id, step_run_id, name)

    def write_run_file(self, run_id: str, step_run_id: str | None, name: str, data: bytes) -> None:
        self.client.write_run_file(run_id, step_run_id, name, data)

    def list_child_runs(self, run_id: str) -> list[RunRecord]:
        return [wire.run_record(r) for r in self.client.iter_runs(parent_run_id=run_id, page_size=500)]

    def store_snapshot(self, folder: str) -> str:
        from headrace.sdk.remote_datastore import SnapshotUploads

        return store_snapshot(folder, SnapshotUploads(self.client))

    def snapshot_archive(self, digest: str) -> bytes:
        return self.client.get_snapshot(digest)

    def logged_models(self, experiment_id: str, owner_id: str) -> list[dict[str, Any]]:
        return self.client.logged_models(experiment_id, owner_id)

    def get_run_graph(self, run_id: str) -> dict[str, Any]:
        return self.client.run_graph(run_id)
