"""Records of published pipelines and pipeline endpoints, and ``EntityStatus`` (Active/Disabled) that
every published thing shares.

Records are plain frozen dataclasses (see ``headrace.storage.records``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = ["EndpointVersion", "EntityStatus", "PipelineEndpointRecord", "PublishedPipelineRecord"]


class EntityStatus(StrEnum):
    """Status of a published pipeline or a pipeline endpoint."""

    ACTIVE = "Active"
    DISABLED = "Disabled"


@dataclass(frozen=True)
class PublishedPipelineRecord:
    """A published pipeline: a frozen graph (``pipeline_id``) under an id, a name and a version.

    ``continue_on_step_failure`` None means "not set at publish time" (runs default to False).
    """

    id: str
    name: str
    pipeline_id: str
    status: EntityStatus
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    version: str | None = None
    continue_on_step_failure: bool | None = None
    source_run_id: str | None = None


@dataclass(frozen=True)
class EndpointVersion:
    """One version of a pipeline endpoint: "0", "1", ... (never reused)."""

    version: str
    published_pipeline_id: str
    added_at: datetime


@dataclass(frozen=True)
class PipelineEndpointRecord:
    """A versioned pipeline endpoint: one stable id/name across republishing."""

    id: str
    name: str
    status: EntityStatus
    default_version: str
    versions: tuple[EndpointVersion, ...]
    created_at: datetime
    updated_at: datetime
    description: str | None = None

    def version(self, version: str | None = None) -> EndpointVersion | None:
        """The entry for ``version`` (default version when None), or None."""
        wanted = self.default_version if version is None else str(version)
        return next((v for v in self.versions if v.version == wanted), None)
