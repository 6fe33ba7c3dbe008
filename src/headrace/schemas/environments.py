"""Wire models of the environment routes (``/api/v1/environments``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from headrace.schemas import _Request, _Wire


class EnvironmentCreate(_Request):
    Spec: dict[str, Any] = Field(description="The environment spec: python, pip, conda, channels, docker, "
                                             "environment_variables, user_managed (see docs/compute.md).")
    Description: str | None = None


class EnvironmentRead(_Wire):
    Name: str
    Version: int
    Hash: str = Field(description="The spec's content hash; an identical registration returns this version.")
    Spec: dict[str, Any]
    Description: str | None = None
    CreatedTime: datetime


class EnvironmentList(_Wire):
    Value: list[EnvironmentRead]
    ContinuationToken: str | None = None


class EnvironmentBuildRead(_Wire):
    Name: str
    Version: int
    Hash: str
    Log: list[str] = Field(description="What the build did (uv's output), or that the environment was ready.")
