"""The publishing part of the ``MetadataStore`` interface: published pipelines and pipeline endpoints.

Same conventions as ``headrace.storage.base``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any

from headrace.storage.records import PipelineEndpointRecord, PublishedPipelineRecord


class PublishingStore(ABC):
    """Published pipelines and the versioned endpoints that point at them."""

    # -- published pipelines -------------------------------------------------------------
    @abstractmethod
    def create_published_pipeline(self, record: PublishedPipelineRecord) -> PublishedPipelineRecord:
        """Raises: AlreadyExistsError (duplicate id), NotFoundError (unknown pipeline_id)."""

    @abstractmethod
    def get_published_pipeline(self, published_id: str) -> PublishedPipelineRecord:
        """Raises: NotFoundError."""

    @abstractmethod
    def list_published_pipelines(self, *, active_only: bool = True) -> list[PublishedPipelineRecord]:
        """Newest first."""

    @abstractmethod
    def update_published_pipeline(self, published_id: str, **changes: Any) -> PublishedPipelineRecord:
        """Apply changes (field names of the record; ``updated_at`` is set by the caller)."""

    # -- pipeline endpoints --------------------------------------------------------------
    @abstractmethod
    def create_pipeline_endpoint(
        self, record: PipelineEndpointRecord
    ) -> PipelineEndpointRecord:
        """Store an endpoint with its versions.

        Raises:
            AlreadyExistsError: the name is taken (archived endpoints free their name).
        """

    @abstractmethod
    def get_pipeline_endpoint(
        self, endpoint_id: str | None = None, *, name: str | None = None
    ) -> PipelineEndpointRecord:
        """By id, else by name. Raises: NotFoundError."""

    @abstractmethod
    def list_pipeline_endpoints(self, *, active_only: bool = True) -> list[PipelineEndpointRecord]:
        """By name."""

    @abstractmethod
    def update_pipeline_endpoint(self, endpoint_id: str, **changes: Any) -> PipelineEndpointRecord:
        """Change ``name``, ``description``, ``status``, ``default_version`` or ``updated_at``.

        Raises:
            NotFoundError: unknown endpoint, or ``default_version`` not among its versions.
            AlreadyExistsError: a new ``name`` is taken.
        """

    @abstractmethod
    def add_endpoint_version(
        self, endpoint_id: str, published_pipeline_id: str, *, make_default: bool, added_at: datetime
    ) -> PipelineEndpointRecord:
        """Append version ``max + 1`` (atomic; numbers are never reused).

        Raises:
            AlreadyExistsError: the published pipeline is already a version of this endpoint.
        """
