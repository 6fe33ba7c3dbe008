"""``promptflow._core.tool``: ``tool`` (an old import path of tool files) and ``InputSetting``."""

from typing import Any

from headrace.flows import tool

__all__ = ["InputSetting", "tool"]


class InputSetting:
    """prompt flow's UI hints for a tool input (``enabled_by``, dynamic lists...); headrace has no tool UI, so
    they are kept as attributes and otherwise ignored."""

    def __init__(self, **settings: Any):
        self.__dict__.update(settings)
