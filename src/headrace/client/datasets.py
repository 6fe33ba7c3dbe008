"""The dataset calls of ``HeadraceClient`` (``/api/v1/datasets``, ``/api/v1/dataset-versions``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from headrace.client.session import ApiSession, seg
from headrace.schemas.datasets import (
    DatasetList,
    DatasetRead,
    DatasetUseList,
    DatasetUseRead,
    ManifestFile,
    ManifestPage,
)


class DatasetCalls(ApiSession):
    """Registered datasets, their pinned files and lineage."""

    def list_datasets(self, all_versions: bool = False) -> list[DatasetRead]:
        return self._model(DatasetList, "GET", "/datasets", params={"all_versions": all_versions}).Value

    def register_dataset(self, name: str, definition: dict[str, Any], *, description: str | None = None,
                         tags: dict[str, str] | None = None, create_new_version: bool = False) -> DatasetRead:
        body = {"Name": name, "Definition": _wire_definition(definition), "Description": description,
                "Tags": tags, "CreateNewVersion": create_new_version}
        return self._model(DatasetRead, "POST", "/datasets", json_body=body)

    def save_dataset(self, definition: dict[str, Any]) -> DatasetRead:
        """Save an unregistered definition as an unnamed version of the files it matches now."""
        return self._model(DatasetRead, "POST", "/datasets/save", json_body=_wire_definition(definition),
                           idempotent=True)

    def get_dataset(self, name: str, version: int | str = "latest") -> DatasetRead:
        return self._model(DatasetRead, "GET", f"/datasets/{seg(name)}", params={"version": str(version)})

    def get_dataset_version(self, dataset_id: str) -> DatasetRead:
        return self._model(DatasetRead, "GET", f"/dataset-versions/{seg(dataset_id)}")

    def update_dataset(self, dataset_id: str, *, description: str | None = None,
                       tags: dict[str, str] | None = None) -> DatasetRead:
        return self._model(DatasetRead, "PATCH", f"/dataset-versions/{seg(dataset_id)}",
                           json_body={"Description": description, "Tags": tags})

    def unregister_dataset(self, name: str) -> None:
        self.send("DELETE", f"/datasets/{seg(name)}")

    def resolve_dataset(self, definition: dict[str, Any]) -> Iterator[ManifestFile]:
        """The files a definition matches now, every page."""
        yield from self._pages("POST", "/datasets/resolve", json_body=_wire_definition(definition))

    def dataset_files(self, dataset_id: str, verify: bool = True) -> Iterator[ManifestFile]:
        """A version's pinned files, every page (checked against the stores first with ``verify``)."""
        yield from self._pages("GET", f"/dataset-versions/{seg(dataset_id)}/files", params={"verify": verify})

    def dataset_uses(self, dataset_id: str) -> list[DatasetUseRead]:
        return self._model(DatasetUseList, "GET", f"/dataset-versions/{seg(dataset_id)}/uses").Value

    def _pages(self, method: str, path: str, **options: Any) -> Iterator[ManifestFile]:
        offset = 0
        params = dict(options.pop("params", {}))
        while True:
            page = self._model(ManifestPage, method, path, params={**params, "offset": offset}, idempotent=True,
                               **options)
            yield from page.Value
            if page.ContinuationToken is None:
                return
            offset = int(page.ContinuationToken)


def _wire_definition(definition: dict[str, Any]) -> dict[str, Any]:
    wire = {"Kind": definition.get("kind", "file"), "Sources": definition["sources"],
            "Read": definition.get("read", {}), "Transforms": definition.get("transforms", [])}
    if definition.get("partition_format"):
        wire["PartitionFormat"] = definition["partition_format"]
    return wire
