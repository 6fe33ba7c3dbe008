"""Records of registered datasets and of their use by runs (lineage)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class DatasetRecord:
    """One version of a dataset: its definition and the manifest of the exact files it resolved to.

    Attributes:
        id: the version's id (``Dataset.get_by_id``), unique across names.
        name: the registered name; None for a dataset saved only because a run used it.
        version: 1, 2, ... per name; None when unregistered.
        kind: ``"file"`` or ``"tabular"``.
        definition: sources, transforms and read options (``headrace.core.dataset``).
        manifest: where the manifest lives in the artifact store (content-addressed).
        file_count: how many files the manifest lists.
        total_bytes: their total size.
        description: free text.
        tags: string tags.
        created_at: when this version was registered.
        created_by_run: the run whose step output became this version, if any.
    """

    id: str
    name: str | None
    version: int | None
    kind: str
    definition: dict[str, Any]
    manifest: str
    file_count: int
    total_bytes: int
    description: str | None
    tags: dict[str, str] = field(default_factory=dict)
    created_at: datetime | None = None
    created_by_run: str | None = None


@dataclass(frozen=True)
class DatasetUse:
    """A run's step read (``role="input"``) or produced (``"output"``) a dataset version."""

    dataset_id: str
    run_id: str
    step_name: str
    role: str
    created_at: datetime
