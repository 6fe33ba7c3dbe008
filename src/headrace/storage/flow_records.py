"""Records of prompt flows published to the server and their versions.

Records are plain frozen dataclasses (see ``headrace.storage.records``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from headrace.storage.publishing_records import EntityStatus

__all__ = ["FlowVersion", "PublishedFlowRecord"]


@dataclass(frozen=True)
class FlowVersion:
    """One published version of a prompt flow: 1, 2, ... (never reused).

    Attributes:
        snapshot: the content hash of the flow folder's snapshot (``datastores.snapshots``).
        interface: the flow's inputs and outputs as published (``{"inputs": {...}, "outputs": {...}}``),
            so callers learn what to send without loading the flow.
    """

    version: int
    snapshot: str
    created_at: datetime
    description: str | None = None
    interface: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PublishedFlowRecord:
    """A prompt flow published to the server: one name over numbered versions, one of them the default."""

    name: str
    status: EntityStatus
    default_version: int
    versions: tuple[FlowVersion, ...]
    created_at: datetime
    updated_at: datetime

    def version(self, version: int | None = None) -> FlowVersion | None:
        """The entry for ``version`` (the default version when None), or None."""
        wanted = self.default_version if version is None else version
        return next((v for v in self.versions if v.version == wanted), None)
