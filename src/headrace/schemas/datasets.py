"""Wire models of the dataset routes (``/api/v1/datasets``, ``/api/v1/dataset-versions``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, field_validator

from headrace.schemas import _Request, _Wire

_TAGS = Field(default=None, description="String tags (at most 100, values up to 1,000 characters).")


class DatasetDefinition(_Request):
    """What a dataset reads (see docs/data.md): ``Kind`` file or tabular, ``Sources`` of
    ``{"datastore", "path"}`` (globs allowed), tabular ``Read`` options and ``Transforms``."""

    Kind: str = Field(pattern="^(file|tabular)$")
    Sources: list[dict[str, str]] = Field(min_length=1, max_length=100)
    Read: dict[str, Any] = Field(default_factory=dict)
    Transforms: list[dict[str, Any]] = Field(default_factory=list, max_length=100)
    PartitionFormat: str | None = Field(default=None, max_length=1_000, description=(
        "Values the files carry in their paths, e.g. 'sales/{Store}/{Day:yyyy/MM/dd}/data.csv' (docs/data.md)."))

    @field_validator("Sources")
    @classmethod
    def _sources(cls, sources: list[dict[str, str]]) -> list[dict[str, str]]:
        for n, source in enumerate(sources):
            if "url" not in source and not {"datastore", "path"} <= source.keys():
                raise ValueError(f"source {n} must have 'datastore' and 'path' (or 'url'); it has "
                                 f"{', '.join(map(repr, source)) or 'nothing'}")
        return sources

    def plain(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.Kind, "sources": self.Sources, "transforms": self.Transforms}
        if self.Kind == "tabular":
            out["read"] = self.Read
        if self.PartitionFormat is not None:
            out["partition_format"] = self.PartitionFormat
        return out


class DatasetCreate(_Request):
    Name: str = Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
    Definition: DatasetDefinition
    Description: str | None = Field(default=None, max_length=10_000)
    Tags: dict[str, str] | None = _TAGS
    CreateNewVersion: bool = False


class DatasetUpdate(_Request):
    Description: str | None = Field(default=None, max_length=10_000)
    Tags: dict[str, str] | None = _TAGS


class DatasetRead(_Wire):
    Id: str
    Name: str | None
    Version: int | None
    Kind: str
    Definition: dict[str, Any]
    FileCount: int
    TotalBytes: int
    Description: str | None = None
    Tags: dict[str, str] = Field(default_factory=dict)
    CreatedTime: datetime | None = None
    CreatedByRun: str | None = None


class DatasetList(_Wire):
    Value: list[DatasetRead]
    ContinuationToken: str | None = None


class ManifestFile(_Wire):
    Datastore: str
    Path: str
    Size: int
    Version: str


class ManifestPage(_Wire):
    Value: list[ManifestFile]
    ContinuationToken: str | None = Field(default=None, description="The offset of the next page, when any.")


class DatasetUseRead(_Wire):
    DatasetId: str
    RunId: str
    StepName: str
    Role: str
    CreatedTime: datetime


class DatasetUseList(_Wire):
    Value: list[DatasetUseRead]
