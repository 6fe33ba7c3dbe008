"""The compute target part of the ``MetadataStore`` interface. Same conventions as ``headrace.storage.base``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from headrace.storage.records import ComputeTargetRecord


class ComputeStore(ABC):
    """Named compute targets (the built-in "local" is not stored: the services layer adds it)."""

    @abstractmethod
    def create_compute_target(self, record: ComputeTargetRecord) -> ComputeTargetRecord:
        """Raises: AlreadyExistsError when the name is taken."""

    @abstractmethod
    def get_compute_target(self, name: str) -> ComputeTargetRecord:
        """Raises: NotFoundError."""

    @abstractmethod
    def list_compute_targets(self) -> list[ComputeTargetRecord]:
        """All stored compute targets, by name."""

    @abstractmethod
    def update_compute_target(self, name: str, /, **changes: Any) -> ComputeTargetRecord:
        """Change ``type``, ``config``, ``description`` or ``updated_at``.

        Raises:
            NotFoundError: no such compute target.
            ValueError: a field that cannot change.
        """

    @abstractmethod
    def delete_compute_target(self, name: str) -> None:
        """Raises: NotFoundError."""
