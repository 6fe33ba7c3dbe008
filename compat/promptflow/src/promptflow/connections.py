"""prompt flow's connection classes over headrace's connections.

A python node's parameter typed with one of these classes receives the connection (found by the name the
node gives) as an instance of the class: ``.api_key``, ``.api_base``, ``.configs``, ``.secrets`` work as in
prompt flow. They can also be built directly, as in prompt flow (``OpenAIConnection(api_key=..., base_url=...)``).
"""

from __future__ import annotations

from typing import Any

from headrace.flows.connections import Connection

__all__ = ["AzureOpenAIConnection", "CustomConnection", "CustomStrongTypeConnection", "OpenAIConnection",
           "as_promptflow"]


class _Connection:
    """What every connection class shares: its name, and the headrace connection it came from."""

    HEADRACE_TYPES: tuple[str, ...] = ()
    TYPE = ""

    def __init__(self, name: str | None = None, **_: Any):
        self.name = name
        self._headrace: Connection | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    def to_headrace(self) -> Connection:
        """The headrace ``Connection`` to call with (the stored one when it came from the store)."""
        raise TypeError(f"{type(self).__name__} is not a model endpoint")

    def _values(self) -> dict[str, Any]:
        return {}

    # ``dict(connection)`` gives its settings, as in prompt flow.
    def keys(self) -> list[str]:
        return list(self._values())

    def __getitem__(self, key: str) -> Any:
        return self._values()[key]

    def __iter__(self) -> Any:
        return iter(self._values())


class OpenAIConnection(_Connection):
    """An OpenAI(-compatible) endpoint: ``api_key``, ``base_url`` (``api_base`` too), ``organization``."""

    HEADRACE_TYPES = ("openai", "local")
    TYPE = "OpenAI"

    def __init__(self, api_key: str = "", organization: str | None = None, base_url: str | None = None,
                 name: str | None = None, **kwargs: Any):
        super().__init__(name, **kwargs)
        self.api_key, self.organization = api_key, organization
        self.base_url = base_url or "https://api.openai.com/v1"

    @property
    def api_base(self) -> str:
        return self.base_url

    def _values(self) -> dict[str, Any]:
        return {"api_key": self.api_key, "organization": self.organization, "base_url": self.base_url}

    @classmethod
    def from_headrace_connection(cls, conn: Connection) -> OpenAIConnection:
        made = cls(api_key=conn.api_key, base_url=conn.base_url, name=conn.name)
        made._headrace = conn
        return made

    def to_headrace(self) -> Connection:
        return self._headrace or Connection(self.name or "openai", "openai", self.base_url, self.api_key)


class AzureOpenAIConnection(_Connection):
    """An Azure OpenAI resource: ``api_key``, ``api_base``, ``api_type``, ``api_version``."""

    HEADRACE_TYPES = ("azure_openai",)
    TYPE = "AzureOpenAI"

    def __init__(self, api_key: str = "", api_base: str = "", api_type: str = "azure",
                 api_version: str = "2024-02-01", name: str | None = None, **kwargs: Any):
        super().__init__(name, **kwargs)
        self.api_key, self.api_base, self.api_type, self.api_version = api_key, api_base, api_type, api_version

    @property
    def base_url(self) -> str:
        return self.api_base

    def _values(self) -> dict[str, Any]:
        return {"api_key": self.api_key, "api_base": self.api_base, "api_type": self.api_type,
                "api_version": self.api_version}

    @classmethod
    def from_headrace_connection(cls, conn: Connection) -> AzureOpenAIConnection:
        made = cls(api_key=conn.api_key, api_base=conn.base_url, api_version=conn.api_version or "2024-02-01",
                   name=conn.name)
        made._headrace = conn
        return made

    def to_headrace(self) -> Connection:
        return self._headrace or Connection(self.name or "azure", "azure_openai", self.api_base, self.api_key,
                                            api_version=self.api_version)


class CustomConnection(_Connection):
    """Any settings a tool reads: ``configs`` (plain) and ``secrets`` (stored encrypted); both also read
    as attributes (``conn.endpoint``), as in prompt flow."""

    HEADRACE_TYPES = ("custom",)
    TYPE = "Custom"

    def __init__(self, secrets: dict[str, str] | None = None, configs: dict[str, str] | None = None,
                 name: str | None = None, **kwargs: Any):
        super().__init__(name, **kwargs)
        self.secrets = dict(secrets or {})
        self.configs = dict(configs or {})

    def __getattr__(self, item: str) -> Any:
        if item in ("secrets", "configs") or item.startswith("__"):
            raise AttributeError(item)
        if item in self.secrets:
            return self.secrets[item]
        if item in self.configs:
            return self.configs[item]
        raise AttributeError(f"connection {self.name!r} has no config or secret {item!r}")

    def is_secret(self, item: str) -> bool:
        return item in self.secrets

    def to_headrace_stored(self) -> Connection:
        """The headrace ``custom`` connection to store (configs plain, secrets encrypted)."""
        return Connection(self.name or "custom", "custom", "", extra={"configs": dict(self.configs)},
                          secrets=dict(self.secrets))

    def _values(self) -> dict[str, Any]:
        return {**self.configs, **self.secrets}

    @classmethod
    def from_headrace_connection(cls, conn: Connection) -> CustomConnection:
        configs = dict(conn.extra.get("configs") or {})
        if conn.base_url:
            configs.setdefault("api_base", conn.base_url)
        secrets = dict(conn.secrets)
        if conn.api_key:
            secrets.setdefault("api_key", conn.api_key)
        made = cls(secrets=secrets, configs=configs, name=conn.name)
        made._headrace = conn
        return made


class CustomStrongTypeConnection(CustomConnection):
    """prompt flow's typed custom connection: a ``CustomConnection`` whose subclasses declare their keys."""


def as_promptflow(conn: Connection) -> _Connection:
    """A headrace connection as prompt flow's class for its type (``pf.connections.get``)."""
    kinds: dict[str, Any] = {"openai": OpenAIConnection, "local": OpenAIConnection,
                             "azure_openai": AzureOpenAIConnection, "custom": CustomConnection}
    return kinds.get(conn.type, CustomConnection).from_headrace_connection(conn)
