"""Wire models of the Run API routes: interactive runs, logged values, tags, properties, run files."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from headrace.schemas import DescriptionText, TagMap, _Request, _Wire

MAX_LOGGED = 10_000
"""Most values one ``POST .../metrics`` call may carry."""


class RunStart(_Request):
    """``POST /experiments/{name}/runs``: start an interactive run (``Experiment.start_logging``, ``child_run``)."""

    ParentRunId: str | None = Field(default=None, max_length=64)
    Tags: TagMap
    Properties: dict[str, Any] | None = None
    Description: DescriptionText
    Kind: Literal["interactive", "hyperdrive"] = "interactive"


class RunEnd(_Request):
    """``POST /runs/{id}/end``: ``complete()``, ``fail()`` or ``cancel()``."""

    Status: Literal["Completed", "Failed", "Canceled"]
    Error: str | None = Field(default=None, max_length=10_000)


class LoggedValue(_Request):
    Name: str = Field(min_length=1, max_length=255)
    Value: Any = None
    Kind: Literal["scalar", "row", "table", "image", "confusion_matrix", "accuracy_table", "predictions",
                  "residuals"] = "scalar"
    Seq: int | None = Field(default=None, ge=0, description="The value's number in its series; counted by the "
                                                             "server when left out.")


class MetricsLog(_Request):
    """``POST /runs/{id}/metrics`` (or ``.../steps/{step}/metrics``): values to append, in logging order."""

    Values: list[LoggedValue] = Field(max_length=MAX_LOGGED)


class LoggedCount(_Wire):
    Logged: int


class TagsUpdate(_Request):
    """``PATCH /runs/{id}/tags``: tags to set, then tag names to remove."""

    Tags: TagMap
    Remove: list[str] = Field(default_factory=list, max_length=1000)


class PropertiesAdd(_Request):
    """``POST /runs/{id}/properties``: properties to add (one already set keeps its value: 409 if it differs)."""

    Properties: dict[str, Any]


class RunFileList(_Wire):
    Value: list[str]
