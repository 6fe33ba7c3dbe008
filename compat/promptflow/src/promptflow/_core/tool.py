"""``promptflow._core.tool``: ``tool`` (an old import path of tool files) and ``InputSetting``."""

from dataclasses import dataclass, field
from typing import Any

from headrace.flows import tool

__all__ = ["InputSetting", "tool"]


@dataclass
class InputSetting:
    """prompt flow's UI hints for a tool input (dynamic lists, ...); headrace has no tool UI and ignores them."""

    dynamic_list: Any = None
    allow_manual_entry: bool = False
    is_multi_select: bool = False
    enabled_by: str | None = None
    enabled_by_value: list[Any] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
