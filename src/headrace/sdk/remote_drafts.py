"""The pipeline-draft methods of the remote backend: ``LocalBackend``'s names and arguments, over HTTP."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from headrace.client import HeadraceClient
from headrace.schemas.drafts import PipelineDraftCreate, PipelineDraftUpdate
from headrace.sdk import wire
from headrace.storage.draft_records import PipelineDraftRecord
from headrace.storage.records import PublishedPipelineRecord, RunRecord

# option -> wire key of the draft bodies
_KEYS = {"name": "Name", "experiment_name": "ExperimentName", "description": "Description",
         "continue_on_step_failure": "ContinueRunOnStepFailure", "tags": "Tags", "properties": "Properties"}


def _fields(options: Mapping[str, Any]) -> dict[str, Any]:
    body = {_KEYS[k]: v for k, v in options.items() if k in _KEYS and v is not None}
    values = options.get("pipeline_parameters")
    if values is not None:
        scalars, paths = wire.split_assignments(values)
        for name, value in list(scalars.items()):
            if isinstance(value, Mapping) and set(value) == {"datastore", "path"}:
                paths[name] = {"DataStoreName": value["datastore"], "RelativePath": value["path"]}
                del scalars[name]
        body.update(ParameterAssignments=scalars, DataPathAssignments=paths)
    return body


class RemoteDrafts:
    """Mixed into ``RemoteBackend``: the draft calls of ``LocalBackend``."""

    client: HeadraceClient  # and RemoteBackend's _upload_graph and _published

    def create_draft(self, pipeline: Any, **options: Any) -> PipelineDraftRecord:
        body = PipelineDraftCreate.model_validate({"GraphId": self._upload_graph(pipeline), **_fields(options)})
        return wire.draft_record(self.client.create_draft(body))

    def clone_draft(self, *, published_pipeline_id: str | None = None, run_id: str | None = None,
                    draft_id: str | None = None) -> PipelineDraftRecord:
        body = PipelineDraftCreate(PipelineId=published_pipeline_id, RunId=run_id, DraftId=draft_id)
        return wire.draft_record(self.client.create_draft(body))

    def get_draft(self, draft_id: str) -> PipelineDraftRecord:
        return wire.draft_record(self.client.get_draft(draft_id))

    def list_drafts(self, tags: Mapping[str, str] | None = None) -> list[PipelineDraftRecord]:
        return [wire.draft_record(d) for d in self.client.list_drafts(tags)]

    def update_draft(self, draft_id: str, pipeline: Any = None, **options: Any) -> PipelineDraftRecord:
        body = _fields(options)
        if pipeline is not None:
            body["GraphId"] = self._upload_graph(pipeline)
        return wire.draft_record(self.client.update_draft(draft_id, PipelineDraftUpdate.model_validate(body)))

    def submit_draft(self, draft_id: str) -> RunRecord:
        return wire.run_record(self.client.submit_draft(draft_id))

    def publish_draft(self, draft_id: str) -> PublishedPipelineRecord:
        return self._published(self.client.publish_draft(draft_id))

    def delete_draft(self, draft_id: str) -> None:
        self.client.delete_draft(draft_id)
