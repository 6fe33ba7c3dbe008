"""The record of a pipeline draft: a stored, unpublished graph with the settings of its next run."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class PipelineDraftRecord:
    """A pipeline draft (Azure ML's ``PipelineDraft``): a graph (``pipeline_id``) that can be edited,
    run and published.

    ``parameters`` holds the parameter values its runs get (as submitted: scalars, data paths as
    ``{"datastore", "path"}``); ``continue_on_step_failure`` None means "not set" (runs default to
    False). The ``parent_*`` fields say what the draft was cloned from, if anything.
    """

    id: str
    name: str
    experiment_name: str
    pipeline_id: str
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    continue_on_step_failure: bool | None = None
    tags: dict[str, str] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)
    parent_pipeline_id: str | None = None  # a published pipeline
    parent_run_id: str | None = None
    parent_draft_id: str | None = None
    last_submitted_run_id: str | None = None
