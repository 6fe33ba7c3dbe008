"""Records of workspace resources: datastores, API tokens and roles, LLM connections, compute targets
and environments.

Records are plain frozen dataclasses (see ``headrace.storage.records``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

__all__ = ["ComputeTargetRecord", "ConnectionRecord", "DatastoreRecord", "EnvironmentRecord", "Role", "TokenRecord"]


@dataclass(frozen=True)
class DatastoreRecord:
    """A registered datastore: a name bound to an fsspec root URI."""

    name: str
    kind: str  # "local", "s3", "azure_blob", ...
    root_uri: str
    options: dict[str, Any]
    created_at: datetime


class Role(str, Enum):
    """What a token may do: read < submit < admin."""

    READER = "reader"
    SUBMITTER = "submitter"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return {"reader": 0, "submitter": 1, "admin": 2}[self.value]


@dataclass(frozen=True)
class TokenRecord:
    """An API token. Only the sha256 of the secret is kept."""

    id: str
    name: str
    role: Role
    token_hash: str
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


@dataclass(frozen=True)
class ConnectionRecord:
    """A stored LLM connection (see ``headrace.flows.connections.Connection``).

    ``secret`` is the API key *encrypted* by ``headrace.services.connections`` (a Fernet token); the store
    never sees the key itself. None when the connection has no key.
    """

    name: str
    type: str
    base_url: str
    created_at: datetime
    updated_at: datetime
    secret: str | None = field(default=None, repr=False)
    api_version: str | None = None
    context_size: int | None = None
    model: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ComputeTargetRecord:
    """A named compute target: where the steps that name it run.

    ``type`` picks the implementation ("local", "AmlCompute": this machine's agent; later kinds plug
    in behind the same names); ``config`` is its JSON settings (for both: ``max_nodes``, the most
    steps of a run that execute on it at once).
    """

    name: str
    type: str
    created_at: datetime
    updated_at: datetime
    config: dict[str, Any] = field(default_factory=dict)
    description: str | None = None


@dataclass(frozen=True)
class EnvironmentRecord:
    """One registered version of a named environment (``headrace.core.environment`` describes ``spec``).

    ``hash`` is the spec's content hash: registering an identical spec under the same name returns this
    version instead of making a new one.
    """

    name: str
    version: int
    hash: str
    spec: dict[str, Any]
    created_at: datetime
    description: str | None = None
