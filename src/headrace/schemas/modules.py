"""Wire models of the module routes (``/api/v1/modules``): modules, and versions of a script whose source
snapshot was uploaded first (``PUT /snapshots/{hash}``). ``Interface`` is the JSON of
``core.module_ports.interface_json``: ``{"inputs": [...], "outputs": [...], "params": {...}}``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from headrace.schemas import DescriptionText, Flag, _Request, _Wire

StatusName = Literal["Active", "Deprecated", "Disabled"]


class ModuleCreate(_Request):
    Name: str = Field(min_length=1, max_length=255)
    Description: DescriptionText


class ModuleUpdate(_Request):
    """Fields left out keep their value."""

    Name: str | None = Field(default=None, min_length=1, max_length=255)
    Description: DescriptionText
    Status: StatusName | None = None
    DefaultVersion: str | None = Field(default=None, min_length=1, max_length=255)


class ModuleRead(_Wire):
    Id: str
    Name: str
    Description: str | None = None
    Status: str
    DefaultVersion: str | None = None
    CreatedTime: datetime
    UpdatedTime: datetime


class ModuleList(_Wire):
    Value: list[ModuleRead]


class ModuleVersionCreate(_Request):
    ScriptName: str = Field(min_length=1, max_length=1024, description="The script, relative to the snapshot.")
    SnapshotDigest: str = Field(description="An uploaded snapshot (PUT /snapshots/{hash}).")
    Version: str | None = Field(default=None, min_length=1, max_length=255,
                                description="Default: the next whole number.")
    Description: DescriptionText
    Interface: dict[str, Any] | None = Field(default=None, description="Ports and parameters.")
    SourceDirectory: str | None = Field(default=None, description="Where it was published from, for the record.")
    IsDefault: Flag = False


class ModuleVersionUpdate(_Request):
    Description: DescriptionText
    Status: StatusName | None = None


class ModuleVersionRead(_Wire):
    ModuleId: str
    Version: str
    ScriptName: str
    SnapshotDigest: str
    Description: str | None = None
    Interface: dict[str, Any] = Field(default_factory=dict)
    SourceDirectory: str | None = None
    Status: str
    CreatedTime: datetime
    UpdatedTime: datetime


class ModuleVersionList(_Wire):
    Value: list[ModuleVersionRead]
