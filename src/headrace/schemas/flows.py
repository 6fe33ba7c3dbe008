"""Wire models of the published prompt flow routes (``/api/v1/flows``).

The score route's body and answer are the flow's own inputs and outputs (the ``/score`` contract of
``headrace flow serve``), so they have no model here: ``FlowVersionRead.Interface`` describes them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from headrace.schemas import FLOW_NAME_PATTERN, MAX_DESCRIPTION, Flag, _Request, _Wire


class FlowPublish(_Request):
    """Publish an uploaded flow folder snapshot as a version of a flow. Keys are matched case-insensitively."""

    Name: str = Field(json_schema_extra={"pattern": FLOW_NAME_PATTERN},
                      description="The flow's name: letters, digits, '_', '-' or '.'; created by its first version.")
    SnapshotDigest: str = Field(description="The flow folder's snapshot, uploaded with PUT /api/v1/snapshots/{digest}.")
    Version: int | None = Field(default=None, ge=1, description="The version number (default: the next one).")
    Description: str | None = Field(default=None, max_length=MAX_DESCRIPTION,
                                   description="Default: the flow's own description.")
    MakeDefault: Flag = Field(default=True, description="Score this version by default (the first one always is).")


class FlowDefaultUpdate(_Request):
    Version: int = Field(ge=1)


class FlowVersionRead(_Wire):
    Version: int
    SnapshotDigest: str
    Description: str | None = None
    CreatedTime: datetime
    Interface: dict[str, Any] = Field(
        description="inputs (type, required, default, flags), outputs, stream_output, type, description.")


class FlowRead(_Wire):
    Name: str
    Status: str
    DefaultVersion: int
    Description: str | None = Field(default=None, description="The default version's description.")
    Endpoint: str = Field(description="POST here to score the flow (?version=N for another version).")
    Versions: list[FlowVersionRead]
    CreatedTime: datetime
    UpdatedTime: datetime


class FlowList(_Wire):
    Value: list[FlowRead]
    ContinuationToken: str | None = None
