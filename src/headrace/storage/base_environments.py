"""The environment part of the ``MetadataStore`` interface. Same conventions as ``headrace.storage.base``."""

from __future__ import annotations

from abc import ABC, abstractmethod

from headrace.storage.records import EnvironmentRecord


class EnvironmentStore(ABC):
    """Registered environments: immutable versions 1, 2, ... per name."""

    @abstractmethod
    def create_environment(self, record: EnvironmentRecord) -> EnvironmentRecord:
        """Store a new version.

        Raises:
            AlreadyExistsError: ``record.version`` of ``record.name`` exists (a concurrent registration).
        """

    @abstractmethod
    def get_environment(self, name: str, version: int | None = None) -> EnvironmentRecord:
        """The version asked for, or the newest one when ``version`` is None.

        Raises:
            NotFoundError: no such name, or no such version of it.
        """

    @abstractmethod
    def list_environments(self, name: str | None = None) -> list[EnvironmentRecord]:
        """Every version (of ``name`` only, when given), by name, newest version first."""
