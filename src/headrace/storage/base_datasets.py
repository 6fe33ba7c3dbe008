"""The dataset part of the ``MetadataStore`` interface: versions, lookups and lineage.

Same conventions as ``headrace.storage.base``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from headrace.storage.dataset_records import DatasetRecord, DatasetUse


class DatasetStore(ABC):
    """Registered dataset versions and which runs used or produced them."""

    @abstractmethod
    def add_dataset(self, record: DatasetRecord) -> DatasetRecord:
        """Store a dataset version. With a ``name``, ``version`` is ignored and the next number (max + 1,
        from 1) is taken; concurrent registrations get distinct numbers. Returns the stored record.

        Raises:
            AlreadyExistsError: the id is taken.
        """

    @abstractmethod
    def get_dataset(self, dataset_id: str) -> DatasetRecord:
        """Raises: NotFoundError."""

    @abstractmethod
    def get_dataset_version(self, name: str, version: int | None = None) -> DatasetRecord:
        """The given version of ``name`` (the latest with None).

        Raises: NotFoundError (no such name, or no such version)."""

    @abstractmethod
    def list_datasets(self, name: str | None = None, all_versions: bool = False) -> list[DatasetRecord]:
        """Registered datasets by name: the latest version of each, or every version with ``all_versions``
        (by name, then version). ``name`` keeps one name."""

    @abstractmethod
    def update_dataset(self, dataset_id: str, /, **changes: Any) -> DatasetRecord:
        """Change ``description`` or ``tags`` of one version.

        Raises:
            NotFoundError: no such version.
            ValueError: another field.
        """

    @abstractmethod
    def delete_dataset_name(self, name: str) -> int:
        """Unregister every version of ``name`` (records used by runs stay, nameless); returns how many.

        Raises: NotFoundError."""

    @abstractmethod
    def add_dataset_use(self, use: DatasetUse) -> None:
        """Record that a run's step read or produced a dataset version (idempotent)."""

    @abstractmethod
    def list_dataset_uses(self, *, dataset_id: str | None = None, run_id: str | None = None) -> list[DatasetUse]:
        """Uses of one version, or of one run, oldest first."""
