"""``promptflow.entities``: the connection classes, ``FlowContext``, ``Run`` and ``InputSetting``."""

from promptflow._context import FlowContext
from promptflow._core.tool import InputSetting
from promptflow._run import Run
from promptflow.connections import (
    AzureOpenAIConnection,
    CustomConnection,
    CustomStrongTypeConnection,
    OpenAIConnection,
)

__all__ = ["AzureOpenAIConnection", "CustomConnection", "CustomStrongTypeConnection", "FlowContext",
           "InputSetting", "OpenAIConnection", "Run"]
