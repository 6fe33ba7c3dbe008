"""``promptflow._core.tool``: ``tool`` (an old import path of tool files)."""

from headrace.flows import tool

__all__ = ["tool"]
