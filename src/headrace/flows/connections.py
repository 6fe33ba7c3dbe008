"""LLM connections: where a model lives and how to reach it (pure: no storage, no network).

A ``Connection`` names an OpenAI-compatible endpoint: ``openai`` (OpenAI itself, vLLM, Ollama, LiteLLM,
llama.cpp's server in chat mode: anything speaking ``/v1/chat/completions``), ``azure_openai`` (Azure
OpenAI: deployments and an ``api-version``), or ``local`` (a llama.cpp server running a *base* model, called
through ``/v1/completions`` with the chat flattened into a completion prompt; see ``headrace.flows.local``).

Connections are stored encrypted by ``headrace.services.connections``; at run time any field can be
overridden from the environment (``apply_env_overrides``), which is how a served flow gets its key from a
container's secrets without a store. The context size of a model, when the connection does not give one,
comes from ``known_context_size``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlparse

from headrace.errors import ConfigError

__all__ = [
    "CONNECTION_TYPES",
    "Connection",
    "DEFAULT_CONTEXT_SIZE",
    "KNOWN_CONTEXT_SIZES",
    "apply_env_overrides",
    "connection_field",
    "connection_from_env",
    "env_prefix",
    "known_context_size",
]

CONNECTION_TYPES = ("openai", "azure_openai", "local", "custom")
"""The connection types: ``openai`` (any OpenAI-compatible chat API), ``azure_openai``, ``local``, and
``custom`` (prompt flow's: any ``configs`` and ``secrets`` a tool reads; no model endpoint needed)."""

DEFAULT_CONTEXT_SIZE = 8192
"""Context size assumed for a model that is neither in ``KNOWN_CONTEXT_SIZES`` nor given by its connection.

Small on purpose: a prompt trimmed too much still answers, one trimmed too little fails. The call's trace
carries a warning saying so; set ``--context-size`` on the connection to use the real size.
"""

KNOWN_CONTEXT_SIZES: dict[str, int] = {
    # OpenAI / Azure OpenAI (prompt + completion tokens). The longest matching prefix wins.
    "gpt-5": 400_000,
    "gpt-4.1": 1_047_576,
    "gpt-4o": 128_000,
    "gpt-4o-mini": 128_000,
    "gpt-4-turbo": 128_000,
    "gpt-4-1106": 128_000,
    "gpt-4-0125": 128_000,
    "gpt-4-32k": 32_768,
    "gpt-4": 8_192,
    "gpt-35-turbo": 16_385,
    "gpt-3.5-turbo": 16_385,
    "gpt-35-turbo-instruct": 4_096,
    "gpt-3.5-turbo-instruct": 4_096,
    "o1": 200_000,
    "o1-mini": 128_000,
    "o3": 200_000,
    "o4-mini": 200_000,
    # Open models as commonly served (a server may be started with a smaller context: set --context-size).
    "llama-3.1": 131_072,
    "llama-3.2": 131_072,
    "llama3": 8_192,
    "llama-3": 8_192,
    "gemma-3-270m": 32_768,
    "gemma3": 32_768,
    "mistral": 32_768,
    "qwen2.5": 32_768,
}
"""Context sizes by model-name prefix (lower case, without a ``vendor/`` prefix)."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_ENV_FIELDS = ("base_url", "api_key", "api_version", "context_size", "model")


@dataclass(frozen=True)
class Connection:
    """An OpenAI-compatible endpoint and its credentials.

    Attributes:
        name: how flows refer to it (``connection: llm``).
        type: ``openai``, ``azure_openai`` or ``local``.
        base_url: the API root (``https://api.openai.com/v1``, ``http://127.0.0.1:8000/v1``; for Azure the
            resource endpoint ``https://NAME.openai.azure.com``).
        api_key: the secret; never shown by ``repr``, never returned by the API or printed by the CLI.
        api_version: Azure's ``api-version`` (required for ``azure_openai``).
        context_size: the model's context window in tokens, when known better than the built-in table.
        model: the model (or Azure deployment) used when a node gives none.
        extra: other settings (``model_path`` of a local GGUF file, for exact token counts; ``configs`` of a
            ``custom`` connection).
        secrets: a ``custom`` connection's secrets (stored encrypted, like ``api_key``; never shown).
    """

    name: str
    type: str
    base_url: str
    api_key: str = field(default="", repr=False)
    api_version: str | None = None
    context_size: int | None = None
    model: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict, repr=False)

    def problems(self) -> list[str]:
        """Everything wrong with this connection (empty when valid), each naming the field and the fix."""
        found = []
        if not _NAME.match(self.name or ""):
            found.append(f"name {self.name!r}: use letters, digits, '_', '.' or '-' (up to 128, starting with "
                         "a letter or digit)")
        if self.type not in CONNECTION_TYPES:
            found.append(f"type {self.type!r}: choose one of {', '.join(CONNECTION_TYPES)}")
        url = urlparse(self.base_url or "")
        if self.type == "custom" and not self.base_url:
            pass  # configs and secrets only
        elif url.scheme not in ("http", "https") or not url.netloc:
            found.append(f"base_url {self.base_url!r}: give an http(s) URL such as https://api.openai.com/v1")
        if self.type == "azure_openai" and not self.api_version:
            found.append("api_version: azure_openai connections need one (e.g. 2024-10-21)")
        if self.context_size is not None and (
            not isinstance(self.context_size, int) or isinstance(self.context_size, bool) or self.context_size < 1
        ):
            found.append(f"context_size {self.context_size!r}: give a positive number of tokens")
        return found

    def validate(self) -> Connection:
        """Return self when valid.

        Raises:
            ConfigError: listing every problem.
        """
        found = self.problems()
        if found:
            raise ConfigError(f"connection {self.name!r} is invalid: " + "; ".join(found))
        return self


def env_prefix(name: str) -> str:
    """The environment prefix of a connection: ``HEADRACE_CONNECTION_<NAME>_`` (NAME upper-cased, any
    character other than a letter or digit replaced by ``_``).

    Example:
        >>> env_prefix("my-llm")
        'HEADRACE_CONNECTION_MY_LLM_'
    """
    return "HEADRACE_CONNECTION_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper() + "_"


def _env_values(name: str, environ: Mapping[str, str]) -> dict[str, Any]:
    prefix = env_prefix(name)
    values: dict[str, Any] = {}
    for key in _ENV_FIELDS:
        raw = environ.get(prefix + key.upper())
        if raw is None or raw == "":
            continue
        if key == "context_size":
            try:
                values[key] = int(raw)
            except ValueError:
                raise ConfigError(f"{prefix}CONTEXT_SIZE={raw!r}: give a whole number of tokens") from None
        else:
            values[key] = raw
    return values


def apply_env_overrides(conn: Connection, environ: Mapping[str, str]) -> Connection:
    """A copy of ``conn`` with the fields set in the environment replaced.

    Variables: ``HEADRACE_CONNECTION_<NAME>_BASE_URL``, ``_API_KEY``, ``_API_VERSION``, ``_CONTEXT_SIZE``,
    ``_MODEL`` (see ``env_prefix``); empty values are ignored.

    Raises:
        ConfigError: ``_CONTEXT_SIZE`` is not a number, or the result is invalid.
    """
    values = _env_values(conn.name, environ)
    return replace(conn, **values).validate() if values else conn


def connection_from_env(name: str, environ: Mapping[str, str]) -> Connection | None:
    """A connection defined by the environment alone, or None when ``..._BASE_URL`` is not set.

    Lets a served flow run without a connection store: ``HEADRACE_CONNECTION_<NAME>_BASE_URL`` (+ ``_API_KEY``,
    ``_TYPE`` (default ``openai``), ``_API_VERSION``, ``_CONTEXT_SIZE``, ``_MODEL``).

    Raises:
        ConfigError: the variables describe an invalid connection.
    """
    values = _env_values(name, environ)
    if "base_url" not in values:
        return None
    kind = environ.get(env_prefix(name) + "TYPE") or "openai"
    return Connection(name=name, type=kind, **values).validate()


def _model_key(model: str) -> str:
    return model.rsplit("/", 1)[-1].strip().lower()


def known_context_size(model: str | None) -> int | None:
    """The context size of ``model`` from ``KNOWN_CONTEXT_SIZES`` (longest prefix), or None when unknown.

    Example:
        >>> known_context_size("gpt-4o-mini-2024-07-18"), known_context_size("gpt-4"), known_context_size("x")
        (128000, 8192, None)
    """
    if not model:
        return None
    key = _model_key(model)
    best = max((p for p in KNOWN_CONTEXT_SIZES if key.startswith(p)), key=len, default=None)
    return KNOWN_CONTEXT_SIZES[best] if best else None


_FIELD_NAMES = {"api_base": "base_url", "base_url": "base_url", "api_key": "api_key", "api_version": "api_version",
                "model": "model", "name": "name"}


def connection_field(conn: Connection, key: str) -> Any:
    """A connection's field by prompt flow's name (``api_key``, ``api_base``, ``api_type``, ``api_version``),
    or a config or secret of a ``custom`` connection; None when it has no such field."""
    if key == "api_type":
        return {"openai": "open_ai", "azure_openai": "azure"}.get(conn.type, conn.type)
    if key in _FIELD_NAMES:
        return getattr(conn, _FIELD_NAMES[key]) or None
    configs = conn.extra.get("configs") or {}
    return conn.secrets.get(key, configs.get(key))
