"""Wire models of the model registry routes (``/api/v1/models``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from headrace.schemas import _Request, _Wire

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,254}$"  # core.model.NAME_PATTERN (schemas import no core)
_TAGS = Field(default=None, description="String tags (at most 100).")
_SHA = Field(pattern="^[0-9a-f]{64}$", description="sha256 of the content, lowercase hex.")


class ModelFileWire(_Request):
    """One file of a version: its path (starting with the root), size and sha256 (which names its blob)."""

    Path: str = Field(min_length=1, max_length=4096)
    Size: int = Field(ge=0)
    Sha256: str = _SHA


class DatasetLink(_Request):
    """A dataset the model was trained on (``Scenario`` says how: ``training``, ``validation``...)."""

    Scenario: str = Field(min_length=1, max_length=255)
    Id: str = Field(min_length=1, max_length=64)


class _Details(_Request):
    Tags: dict[str, str] | None = _TAGS
    Properties: dict[str, str] | None = Field(default=None, description="String properties (added, never changed).")
    Description: str | None = Field(default=None, max_length=10_000)
    Framework: str | None = Field(default=None, max_length=64)
    FrameworkVersion: str | None = Field(default=None, max_length=64)
    Datasets: list[DatasetLink] = Field(default_factory=list, max_length=100)


class ModelCreate(_Details):
    """A new version from blobs already uploaded (``PUT /models/blobs/{sha256}``)."""

    Name: str = Field(pattern=NAME_PATTERN)
    Root: str = Field(min_length=1, max_length=1024, description="The file or folder name the files sit under.")
    Files: list[ModelFileWire] = Field(min_length=1, max_length=100_000)


class ModelFromRun(_Details):
    """A new version from a run's files: ``ModelPath`` is ``<output name>/<path>`` (a step output)."""

    Name: str = Field(pattern=NAME_PATTERN)
    RunId: str = Field(min_length=1, max_length=64)
    StepName: str | None = Field(default=None, max_length=255, description="Only this step's files.")
    ModelPath: str = Field(min_length=1, max_length=4096)


class ModelUpdate(_Request):
    AddTags: dict[str, str] | None = _TAGS
    RemoveTags: list[str] | None = Field(default=None, max_length=100)
    AddProperties: dict[str, str] | None = None
    Description: str | None = Field(default=None, max_length=10_000)


class StageTransition(_Request):
    Stage: str | None = Field(description="None, Staging, Production or Archived (null means None).")
    Comment: str | None = Field(default=None, max_length=10_000)
    ArchiveExisting: bool = Field(default=False, description="Move the name's other versions in Stage to Archived.")


class AliasSet(_Request):
    Version: int = Field(ge=1)


class BlobQuery(_Request):
    Sha256: list[str] = Field(max_length=100_000)


class BlobList(_Wire):
    Missing: list[str]


class BlobRead(_Wire):
    Sha256: str
    Size: int


class ModelRead(_Wire):
    Id: str
    Name: str
    Version: int
    Root: str
    FileCount: int
    TotalBytes: int
    Files: list[dict[str, Any]] = Field(default_factory=list, description="{path, size, sha256} of each file.")
    Description: str | None = None
    Tags: dict[str, str] = Field(default_factory=dict)
    Properties: dict[str, str] = Field(default_factory=dict)
    Framework: str | None = None
    FrameworkVersion: str | None = None
    Datasets: list[dict[str, Any]] = Field(default_factory=list)
    RunId: str | None = None
    StepName: str | None = None
    ExperimentName: str | None = None
    Source: str | None = None
    CreatedBy: str | None = None
    CreatedTime: datetime | None = None
    Stage: str = "None"
    StageChangedTime: datetime | None = None
    Aliases: list[str] = Field(default_factory=list)


class ModelList(_Wire):
    Value: list[ModelRead]


class StageChangeRead(_Wire):
    Name: str
    Version: int
    FromStage: str
    ToStage: str
    ChangedBy: str | None = None
    ChangedTime: datetime
    Comment: str | None = None


class StageChangeList(_Wire):
    Value: list[StageChangeRead]


class TransitionRead(_Wire):
    Model: ModelRead
    Changes: list[StageChangeRead]


class AliasRead(_Wire):
    Name: str
    Alias: str
    Version: int
    SetBy: str | None = None
    SetTime: datetime


class AliasList(_Wire):
    Value: list[AliasRead]
