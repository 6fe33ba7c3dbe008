"""Wire models of the LLM connection routes (``/api/v1/connections``).

An API key goes in (``ConnectionPut.ApiKey``) and never comes out: ``ConnectionRead`` only says whether
one is stored (``HasApiKey``). The rules a connection must follow (known type, http(s) URL, positive
context size...) are the services' (``headrace.flows.connections.Connection.problems``); the bounds
here are only what the store can hold.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import Field, model_validator

from headrace.schemas import _Request, _Wire

MAX_CONTEXT_SIZE = 2**31 - 1
"""The largest context size the store's integer column holds (on every database)."""


def _plain(key: str) -> str:
    return key.lower().replace("_", "").replace("-", "")


class ConnectionPut(_Request):
    """Create or replace a connection. Keys are matched ignoring case, ``_`` and ``-``: ``BaseUrl``,
    ``base_url`` and ``baseurl`` are one key (so the CLI's ``--json`` names work too)."""

    Type: str = Field(description="openai (any OpenAI-compatible chat API), azure_openai or local.")
    BaseUrl: str = Field(description="The API root, e.g. https://api.openai.com/v1; for Azure the resource "
                                     "endpoint https://NAME.openai.azure.com.")
    ApiKey: str | None = Field(default=None, description="Stored encrypted and never returned. Omit it for "
                                                         "keyless servers; a PUT without it stores no key.")
    ApiVersion: str | None = Field(default=None, max_length=64, description="Azure's api-version.")
    ContextSize: int | None = Field(default=None, le=MAX_CONTEXT_SIZE, strict=True,
                                    description="The model's context window, in tokens.")
    Model: str | None = Field(default=None, max_length=255, description="Default model (or Azure deployment).")
    Extra: dict[str, Any] = Field(default_factory=dict,
                                  description="Other settings, e.g. model_path of a local GGUF file.")

    @model_validator(mode="before")
    @classmethod
    def _match_keys(cls, data: Any) -> Any:  # replaces _Request's: also ignores '_' and '-'
        if not isinstance(data, dict):
            return data
        try:  # stored text must be encodable: a lone surrogate escape ("\\ud800") would poison every read
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("the body holds a lone surrogate escape such as \\ud800, which is not valid Unicode text") from None
        names = {_plain(name): name for name in cls.model_fields}
        matched: dict[str, Any] = {}
        for key, value in data.items():
            name = names.get(_plain(str(key)), str(key))
            if name in matched:
                raise ValueError(f"key {key!r} is given twice (keys ignore case, '_' and '-')")
            matched[name] = value
        return matched


class ConnectionRead(_Wire):
    """A connection as the API shows it: every field but the key."""

    Name: str
    Type: str
    BaseUrl: str
    HasApiKey: bool = Field(description="Whether a key is stored (it is never returned).")
    ApiVersion: str | None = None
    ContextSize: int | None = None
    Model: str | None = None
    Extra: dict[str, Any] = Field(default_factory=dict)
    CreatedTime: datetime
    UpdatedTime: datetime


class ConnectionList(_Wire):
    Value: list[ConnectionRead]
    ContinuationToken: str | None = None
