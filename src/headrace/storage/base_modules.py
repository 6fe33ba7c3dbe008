"""The module part of the ``MetadataStore`` interface. Same conventions as ``headrace.storage.base``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from headrace.storage.module_records import ModuleRecord, ModuleVersionRecord


class ModuleStore(ABC):
    """Modules and their versions (``ModuleStep``'s scripts)."""

    @abstractmethod
    def create_module(self, record: ModuleRecord) -> ModuleRecord:
        """Raises: AlreadyExistsError (the id or the name is taken)."""

    @abstractmethod
    def get_module(self, module_id: str | None = None, *, name: str | None = None) -> ModuleRecord:
        """By id or by name (one of them). Raises: NotFoundError."""

    @abstractmethod
    def list_modules(self) -> list[ModuleRecord]:
        """Newest first."""

    @abstractmethod
    def update_module(self, module_id: str, **changes: Any) -> ModuleRecord:
        """Apply changes (``name``, ``description``, ``default_version``, ``status``, ``updated_at``).

        Raises:
            NotFoundError: no such module, or a ``default_version`` the module does not have.
            AlreadyExistsError: a new name another module has.
            ValueError: a field that does not exist or may not change.
        """

    @abstractmethod
    def create_module_version(self, record: ModuleVersionRecord) -> ModuleVersionRecord:
        """Raises: NotFoundError (unknown module), AlreadyExistsError (the module has this version)."""

    @abstractmethod
    def get_module_version(self, module_id: str, version: str) -> ModuleVersionRecord:
        """Raises: NotFoundError."""

    @abstractmethod
    def list_module_versions(self, module_id: str) -> list[ModuleVersionRecord]:
        """Oldest first (the order they were published). Raises: NotFoundError (unknown module)."""

    @abstractmethod
    def update_module_version(self, module_id: str, version: str, **changes: Any) -> ModuleVersionRecord:
        """Apply changes (``description``, ``status``, ``updated_at``).

        Raises:
            NotFoundError: no such version.
            ValueError: a field that does not exist or may not change.
        """
