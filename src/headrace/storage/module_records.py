"""The records of modules and module versions (Azure ML v1's ``Module`` / ``ModuleVersion``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ModuleRecord:
    """A module: a named family of script versions. ``status`` is Active, Deprecated or Disabled;
    ``default_version`` None means "not set" (a step then runs the highest or newest version)."""

    id: str
    name: str
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    default_version: str | None = None
    status: str = "Active"


@dataclass(frozen=True)
class ModuleVersionRecord:
    """One published version of a module: a script in a source snapshot taken at publish time, with its
    ports and parameters (``interface``: ``core.module_ports.interface_json``'s shape)."""

    module_id: str
    version: str
    script_name: str
    snapshot: str  # the source snapshot's hash (``datastores.snapshots.store_snapshot``)
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    interface: dict[str, Any] = field(default_factory=dict)
    source_directory: str | None = None  # the folder it was published from, for the record
    status: str = "Active"
