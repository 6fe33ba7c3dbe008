"""The model registry calls of ``HeadraceClient`` (``/api/v1/models``)."""

from __future__ import annotations

from typing import Any

from headrace.client.session import ApiSession, seg
from headrace.schemas.models import (
    AliasList,
    AliasRead,
    BlobList,
    ModelList,
    ModelRead,
    StageChangeList,
    StageChangeRead,
    TransitionRead,
)


def _details(details: dict[str, Any]) -> dict[str, Any]:
    return {"Tags": details.get("tags"), "Properties": details.get("properties"),
            "Description": details.get("description"), "Framework": details.get("framework"),
            "FrameworkVersion": details.get("framework_version"),
            "Datasets": [{"Scenario": s, "Id": i} for s, i in details.get("datasets") or ()]}


class ModelCalls(ApiSession):
    """Registered models: versions, blobs, stages, aliases."""

    def missing_blobs(self, digests: list[str]) -> list[str]:
        return self._model(BlobList, "POST", "/models/blobs/missing", json_body={"Sha256": digests},
                           idempotent=True).Missing

    def put_blob(self, sha256: str, data: bytes) -> None:
        self.request("PUT", f"/models/blobs/{seg(sha256)}", content=data,
                     headers={"Content-Type": "application/octet-stream"})

    def register_model(self, name: str, root: str, files: list[dict[str, Any]], **details: Any) -> ModelRead:
        """``files``: ``{"path", "size", "sha256"}`` of blobs already uploaded; ``details``: tags, properties,
        description, framework, framework_version, datasets (``[(scenario, dataset id)]``)."""
        body = {"Name": name, "Root": root, **_details(details),
                "Files": [{"Path": f["path"], "Size": f["size"], "Sha256": f["sha256"]} for f in files]}
        return self._model(ModelRead, "POST", "/models", json_body=body)

    def register_model_from_run(self, run_id: str, model_path: str, name: str, step_name: str | None = None,
                                **details: Any) -> ModelRead:
        body = {"Name": name, "RunId": run_id, "ModelPath": model_path, "StepName": step_name, **_details(details)}
        return self._model(ModelRead, "POST", "/models/from-run", json_body=body)

    def get_model(self, name: str, version: int | None = None, alias: str | None = None) -> ModelRead:
        return self._model(ModelRead, "GET", f"/models/{seg(name)}",
                           params={"version": None if version is None else str(version), "alias": alias})

    def list_models(self, name: str | None = None, latest: bool = False, run_id: str | None = None) -> list[ModelRead]:
        return self._model(ModelList, "GET", "/models", params={"name": name, "latest": latest,
                                                                 "run_id": run_id}).Value

    def update_model(self, name: str, version: int, **changes: Any) -> ModelRead:
        body = {"AddTags": changes.get("add_tags"), "RemoveTags": changes.get("remove_tags"),
                "AddProperties": changes.get("add_properties"), "Description": changes.get("description")}
        return self._model(ModelRead, "PATCH", f"/models/{seg(name)}/versions/{version}", json_body=body)

    def delete_model(self, name: str, version: int) -> None:
        self.request("DELETE", f"/models/{seg(name)}/versions/{version}")

    def model_file(self, name: str, version: int, path: str) -> bytes:
        quoted = "/".join(seg(p) for p in path.split("/"))
        return self.request("GET", f"/models/{seg(name)}/versions/{version}/files/{quoted}").content

    def transition_model(self, name: str, version: int, stage: str | None, comment: str | None = None,
                         archive_existing: bool = False) -> TransitionRead:
        body = {"Stage": stage, "Comment": comment, "ArchiveExisting": archive_existing}
        return self._model(TransitionRead, "POST", f"/models/{seg(name)}/versions/{version}/stage", json_body=body)

    def model_history(self, name: str, version: int | None = None) -> list[StageChangeRead]:
        return self._model(StageChangeList, "GET", f"/models/{seg(name)}/history", params={"version": version}).Value

    def model_aliases(self, name: str) -> list[AliasRead]:
        return self._model(AliasList, "GET", f"/models/{seg(name)}/aliases").Value

    def set_model_alias(self, name: str, alias: str, version: int) -> AliasRead:
        return self._model(AliasRead, "PUT", f"/models/{seg(name)}/aliases/{seg(alias)}", json_body={"Version": version})

    def delete_model_alias(self, name: str, alias: str) -> None:
        self.request("DELETE", f"/models/{seg(name)}/aliases/{seg(alias)}")
