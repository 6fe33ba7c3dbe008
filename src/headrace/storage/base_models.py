"""The model registry part of the ``MetadataStore`` interface: versions, stages with history, aliases.

Same conventions as ``headrace.storage.base``. A version's stage changes only through
``set_model_stage``, and a new version only appears through ``add_model_version``: the two calls that
also write the matching event when the store has an events outbox.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

from headrace.storage.model_records import LoggedModelRecord, ModelAliasRecord, ModelRecord, StageChangeRecord


class ModelStore(ABC):
    """Registered model versions, their stage history and aliases."""

    @abstractmethod
    def add_model_version(self, record: ModelRecord) -> ModelRecord:
        """Store a new version of ``record.name``: ``version`` (and ``id``) are ignored and the next number
        (max + 1, from 1) is taken; concurrent registrations get
        distinct numbers. Returns the stored record."""

    @abstractmethod
    def get_model_version(self, name: str, version: int | None = None) -> ModelRecord:
        """The given version of ``name`` (the latest with None).

        Raises: NotFoundError (no such name, or no such version)."""

    @abstractmethod
    def list_model_versions(self, name: str | None = None, *, latest: bool = False,
                            run_id: str | None = None) -> list[ModelRecord]:
        """Versions by name, then version; ``latest`` keeps the highest version of each name; ``name`` and
        ``run_id`` (the producing run) filter."""

    @abstractmethod
    def update_model_version(self, name: str, version: int, /, **changes: Any) -> ModelRecord:
        """Change ``description``, ``tags`` or ``properties`` of one version.

        Raises:
            NotFoundError: no such version.
            ValueError: another field.
        """

    @abstractmethod
    def delete_model_version(self, name: str, version: int) -> None:
        """Remove a version, its stage history and the aliases pointing at it (its blobs are shared and stay).

        Raises: NotFoundError."""

    @abstractmethod
    def set_model_stage(self, name: str, version: int, stage: str, *, changed_by: str | None,
                        comment: str | None = None, archive_existing: bool = False,
                        ) -> tuple[ModelRecord, list[StageChangeRecord]]:
        """Move a version to ``stage`` and record the change, in one transaction. With ``archive_existing``
        the other versions of the name in that stage move to ``Archived`` too (each change recorded).
        Moving to the stage a version is already in changes nothing and records nothing.

        Returns: the version's new record and the changes recorded (the version's first).

        Raises: NotFoundError."""

    @abstractmethod
    def list_model_stage_changes(self, name: str, version: int | None = None) -> list[StageChangeRecord]:
        """The stage history of a name (or of one version), oldest first."""

    @abstractmethod
    def set_model_alias(self, record: ModelAliasRecord) -> ModelAliasRecord:
        """Point ``record.alias`` of ``record.name`` at ``record.version`` (moving it if it pointed elsewhere).

        Raises: NotFoundError (no such version)."""

    @abstractmethod
    def delete_model_alias(self, name: str, alias: str) -> None:
        """Raises: NotFoundError (no such alias)."""

    @abstractmethod
    def list_model_aliases(self, name: str | None = None) -> list[ModelAliasRecord]:
        """Aliases by name, then alias."""

    def model_alias_map(self, name: str) -> Mapping[int, list[str]]:
        """version -> its aliases, for one name."""
        found: dict[int, list[str]] = {}
        for a in self.list_model_aliases(name):
            found.setdefault(a.version, []).append(a.alias)
        return found


class LoggedModelStore(ABC):
    """MLflow's logged models (``LoggedModelRecord``): their metadata; their files are in the artifact store."""

    @abstractmethod
    def add_logged_model(self, record: LoggedModelRecord) -> LoggedModelRecord:
        """Store a new logged model. Returns the stored record.

        Raises: AlreadyExistsError (a model with this id)."""

    @abstractmethod
    def get_logged_model(self, model_id: str) -> LoggedModelRecord:
        """Raises: NotFoundError (deleted ones are still found: ``deleted`` says so)."""

    @abstractmethod
    def update_logged_model(self, model_id: str, /, **changes: Any) -> LoggedModelRecord:
        """Change ``status``, ``status_message``, ``tags``, ``params``, ``metrics``, ``deleted`` or
        ``updated_at``.

        Raises:
            NotFoundError: no such model.
            ValueError: another field.
        """

    @abstractmethod
    def list_logged_models(self, *, experiment_ids: Sequence[str] | None = None, source_run_id: str | None = None,
                           name: str | None = None, include_deleted: bool = False, limit: int | None = None,
                           cursor: str | None = None) -> tuple[list[LoggedModelRecord], str | None]:
        """Logged models, newest first, filtered by experiments, source run and name; a page of ``limit``
        and the cursor of the next page (None on the last).

        Raises: ValueError (a cursor this store did not produce)."""
