"""The prompt flow part of the ``MetadataStore`` interface: LLM connections and published flows.

Same conventions as ``headrace.storage.base``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any

from headrace.storage.records import ConnectionRecord, PublishedFlowRecord


class FlowStore(ABC):
    """LLM connections, and published prompt flows with their versions."""

    # -- LLM connections ---------------------------------------------------------------
    @abstractmethod
    def create_connection(self, record: ConnectionRecord) -> ConnectionRecord:
        """Raises: AlreadyExistsError when the name is taken."""

    @abstractmethod
    def get_connection(self, name: str) -> ConnectionRecord:
        """Raises: NotFoundError."""

    @abstractmethod
    def list_connections(self) -> list[ConnectionRecord]:
        """All connections, by name."""

    @abstractmethod
    def update_connection(self, name: str, /, **changes: Any) -> ConnectionRecord:
        """Apply changes (field names of the record but ``name`` and ``created_at``).

        Raises:
            NotFoundError: no such connection.
            ValueError: a field that cannot change.
        """

    @abstractmethod
    def delete_connection(self, name: str) -> None:
        """Raises: NotFoundError."""

    # -- published prompt flows --------------------------------------------------------
    @abstractmethod
    def add_flow_version(self, name: str, *, snapshot: str, created_at: datetime, version: int | None = None,
                         description: str | None = None, interface: dict[str, Any] | None = None,
                         make_default: bool = True) -> PublishedFlowRecord:
        """Add a version to the flow ``name``, creating the flow (Active) with its first version.

        ``version`` None takes the next number (max + 1, from 1); concurrent additions get distinct
        numbers. The first version is always the default; later ones when ``make_default``.

        Raises:
            AlreadyExistsError: ``version`` is already a version of the flow.
            ValueError: ``version`` is not a whole number of at least 1.
        """

    @abstractmethod
    def get_flow(self, name: str) -> PublishedFlowRecord:
        """Raises: NotFoundError."""

    @abstractmethod
    def list_flows(self, *, active_only: bool = False) -> list[PublishedFlowRecord]:
        """Published flows by name (only Active ones with ``active_only``)."""

    @abstractmethod
    def update_flow(self, name: str, /, **changes: Any) -> PublishedFlowRecord:
        """Apply changes to ``status``, ``default_version`` or ``updated_at``.

        Raises:
            NotFoundError: no such flow, or ``default_version`` is not one of its versions.
            ValueError: another field, or an unknown status.
        """
