"""Wire models of the pipeline-draft routes (``/api/v1/pipeline-drafts``).

A draft is created from a stored graph (``GraphId``, from ``POST /graphs``) with its name and
experiment, or cloned from a published pipeline (``PipelineId``), a run (``RunId``) or a draft
(``DraftId``). Parameter values travel as in a submission: ``ParameterAssignments`` and
``DataPathAssignments``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from headrace.schemas import DataPathValue, DescriptionText, Flag, TagMap, _Request, _Wire


class PipelineDraftCreate(_Request):
    GraphId: str | None = Field(default=None, description="A graph stored with POST /graphs.")
    PipelineId: str | None = Field(default=None, description="Clone a published pipeline.")
    RunId: str | None = Field(default=None, description="Clone the graph and values of a run.")
    DraftId: str | None = Field(default=None, description="Clone another draft.")
    Name: str | None = Field(default=None, description="Required with GraphId.")
    ExperimentName: str | None = Field(default=None, description="Required with GraphId.")
    Description: DescriptionText
    ParameterAssignments: dict[str, Any] | None = None
    DataPathAssignments: dict[str, DataPathValue] | None = None
    ContinueRunOnStepFailure: Flag | None = None
    Tags: TagMap
    Properties: dict[str, Any] | None = None


class PipelineDraftUpdate(_Request):
    """Fields left out keep their value; parameter assignments, when given, replace them all."""

    GraphId: str | None = None
    Name: str | None = None
    ExperimentName: str | None = None
    Description: DescriptionText
    ParameterAssignments: dict[str, Any] | None = None
    DataPathAssignments: dict[str, DataPathValue] | None = None
    ContinueRunOnStepFailure: Flag | None = None
    Tags: TagMap


class PipelineDraftRead(_Wire):
    Id: str
    Name: str
    ExperimentName: str
    GraphId: str
    Description: str | None = None
    ParameterAssignments: dict[str, Any] = Field(default_factory=dict)
    DataPathAssignments: dict[str, DataPathValue] = Field(default_factory=dict)
    ContinueRunOnStepFailure: bool | None = None
    Tags: dict[str, str] = Field(default_factory=dict)
    Properties: dict[str, Any] = Field(default_factory=dict)
    ParentPipelineId: str | None = None
    ParentRunId: str | None = None
    ParentDraftId: str | None = None
    LastSubmittedRunId: str | None = None
    CreatedTime: datetime
    UpdatedTime: datetime


class PipelineDraftList(_Wire):
    Value: list[PipelineDraftRead]
    ContinuationToken: str | None = None
