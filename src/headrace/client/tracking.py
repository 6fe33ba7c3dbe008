"""The Run API calls of ``HeadraceClient``: interactive runs, logged values, tags, properties and run files."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from headrace.client.session import ApiSession, seg
from headrace.schemas import ExperimentRead, RunRead
from headrace.schemas.tracking import LoggedCount, RunFileList


def _owner(run_id: str, step: str | None) -> str:
    return f"/runs/{seg(run_id)}" + ("" if step is None else f"/steps/{seg(step)}")


class TrackingCalls(ApiSession):
    """``/experiments/{name}/runs``, ``/runs/{id}/end``, ``.../metrics``, ``.../tags``, ``.../properties``, ``.../files``."""

    def create_experiment(self, name: str) -> ExperimentRead:
        return self._model(ExperimentRead, "PUT", f"/experiments/{seg(name)}")

    def start_run(self, experiment_name: str, *, parent_run_id: str | None = None, tags: Mapping[str, str] | None = None,
                  properties: Mapping[str, Any] | None = None, description: str | None = None,
                  kind: str = "interactive") -> RunRead:
        body = {"ParentRunId": parent_run_id, "Tags": dict(tags) if tags else None,
                "Properties": dict(properties) if properties else None, "Description": description, "Kind": kind}
        return self._model(RunRead, "POST", f"/experiments/{seg(experiment_name)}/runs", json_body=body)

    def end_run(self, run_id: str, status: str, error: str | None = None) -> RunRead:
        return self._model(RunRead, "POST", f"/runs/{seg(run_id)}/end", json_body={"Status": status, "Error": error},
                           idempotent=True)

    def log_metrics(self, run_id: str, step: str | None, items: Iterable[Mapping[str, Any]]) -> int:
        values = [{"Name": i["name"], "Value": i.get("value"), "Kind": i.get("kind", "scalar"), "Seq": i.get("seq")}
                  for i in items]
        return self._model(LoggedCount, "POST", f"{_owner(run_id, step)}/metrics", json_body={"Values": values}).Logged

    def update_tags(self, run_id: str, step: str | None, tags: Mapping[str, str], remove: Iterable[str] = ()) -> dict:
        return self._json("PATCH", f"{_owner(run_id, step)}/tags", json_body={"Tags": dict(tags), "Remove": list(remove)},
                          idempotent=True)

    def add_properties(self, run_id: str, step: str | None, properties: Mapping[str, Any]) -> dict:
        return self._json("POST", f"{_owner(run_id, step)}/properties", json_body={"Properties": dict(properties)},
                          idempotent=True)

    def logged_models(self, experiment_id: str, owner_id: str) -> list[dict[str, Any]]:
        """MLflow's logged models of a run or step run (MLflow's JSON), through the MLflow REST API."""
        body = {"experiment_ids": [experiment_id], "filter": f"source_run_id = '{owner_id}'"}
        return self._json("POST", f"{self.url}/api/2.0/mlflow/logged-models/search", json_body=body)["models"]

    def run_graph(self, run_id: str) -> dict[str, Any]:
        return self._json("GET", f"/runs/{seg(run_id)}/graph")

    def run_file_names(self, run_id: str, step: str | None = None) -> list[str]:
        return self._model(RunFileList, "GET", f"{_owner(run_id, step)}/files").Value

    def read_run_file(self, run_id: str, step: str | None, name: str) -> bytes:
        return self.request("GET", f"{_owner(run_id, step)}/files/{quote(name, safe='/')}").content

    def write_run_file(self, run_id: str, step: str | None, name: str, data: bytes) -> None:
        self.request("PUT", f"{_owner(run_id, step)}/files/{quote(name, safe='/')}", content=data,
                     headers={"Content-Type": "application/octet-stream"})
