"""``promptflow.core``: ``tool``, ``log_metric``, ``ToolProvider``, the model configurations and ``Prompty``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from headrace.flows import log_metric, tool
from promptflow._prompty import Prompty

__all__ = ["AzureOpenAIModelConfiguration", "OpenAIModelConfiguration", "Prompty", "ToolProvider", "log_metric",
           "tool"]


class ToolProvider:
    """Base of class-based tools (``__init__`` takes the connection, methods are ``@tool``)."""

    def __init__(self, *args: Any, **kwargs: Any):
        pass


@dataclass
class AzureOpenAIModelConfiguration:
    """An Azure OpenAI deployment to call (a Prompty's ``model.configuration``)."""

    azure_deployment: str = ""
    azure_endpoint: str | None = None
    api_version: str | None = None
    api_key: str | None = None
    connection: str | None = None
    type: str = "azure_openai"


@dataclass
class OpenAIModelConfiguration:
    """An OpenAI(-compatible) model to call (a Prompty's ``model.configuration``)."""

    model: str = ""
    base_url: str | None = None
    api_key: str | None = None
    organization: str | None = None
    connection: str | None = None
    type: str = "openai"
