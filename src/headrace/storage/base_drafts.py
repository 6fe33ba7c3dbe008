"""The pipeline-draft part of the ``MetadataStore`` interface. Same conventions as ``headrace.storage.base``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from headrace.storage.draft_records import PipelineDraftRecord


class DraftStore(ABC):
    """Pipeline drafts: stored graphs that are not published."""

    @abstractmethod
    def create_pipeline_draft(self, record: PipelineDraftRecord) -> PipelineDraftRecord:
        """Raises: AlreadyExistsError (duplicate id), NotFoundError (unknown ``pipeline_id``)."""

    @abstractmethod
    def get_pipeline_draft(self, draft_id: str) -> PipelineDraftRecord:
        """Raises: NotFoundError."""

    @abstractmethod
    def list_pipeline_drafts(self, *, tags: Mapping[str, str] | None = None) -> list[PipelineDraftRecord]:
        """Newest first; with ``tags``, only drafts having every one of these name/value pairs."""

    @abstractmethod
    def update_pipeline_draft(self, draft_id: str, **changes: Any) -> PipelineDraftRecord:
        """Apply changes (record field names except ``id`` and ``created_at``; the caller sets ``updated_at``).

        Raises:
            NotFoundError: no such draft, or a new ``pipeline_id`` that does not exist.
            ValueError: a field that does not exist or may not change.
        """

    @abstractmethod
    def delete_pipeline_draft(self, draft_id: str) -> None:
        """Delete a draft (its graph and its runs stay). Raises: NotFoundError."""
