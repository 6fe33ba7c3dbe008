"""What ``Environment`` needs from a workspace: the environment services, in process or over REST."""

from __future__ import annotations

from typing import Any

from headrace.errors import ConfigError
from headrace.services import environments as svc_envs
from headrace.storage.records import EnvironmentRecord


class LocalEnvironments:
    """Environments of an embedded workspace."""

    def __init__(self, svc: Any):
        self.svc = svc

    def register(self, name: str, spec: dict[str, Any], description: str | None) -> EnvironmentRecord:
        return svc_envs.register(self.svc, name, spec, description)

    def get(self, name: str, version: Any = None) -> EnvironmentRecord:
        return svc_envs.get(self.svc, name, version)

    def list(self, name: str | None = None, all_versions: bool = False) -> list[EnvironmentRecord]:
        return svc_envs.list_environments(self.svc, name, all_versions)

    def build(self, name: str, version: Any = None) -> tuple[EnvironmentRecord, list[str]]:
        record, log, _python = svc_envs.build(self.svc, name, version)
        return record, log


def _record(wire: Any) -> EnvironmentRecord:
    return EnvironmentRecord(name=wire.Name, version=wire.Version, hash=wire.Hash, spec=dict(wire.Spec),
                             created_at=wire.CreatedTime, description=wire.Description)


class RemoteEnvironments:
    """Environments of a server, over its REST API."""

    def __init__(self, client: Any):
        self.client = client

    def register(self, name: str, spec: dict[str, Any], description: str | None) -> EnvironmentRecord:
        return _record(self.client.register_environment(name, spec, description))

    def get(self, name: str, version: Any = None) -> EnvironmentRecord:
        return _record(self.client.get_environment(name, version))

    def list(self, name: str | None = None, all_versions: bool = False) -> list[EnvironmentRecord]:
        return [_record(w) for w in self.client.list_environments(name, all_versions)]

    def build(self, name: str, version: Any = None) -> tuple[EnvironmentRecord, list[str]]:
        answer = self.client.build_environment(name, version)
        return self.get(answer.Name, answer.Version), list(answer.Log)


def environments_of(workspace: Any) -> LocalEnvironments | RemoteEnvironments:
    """The environment backend of a workspace: in process when embedded, over REST when remote.

    Raises:
        ConfigError: the object is not a workspace.
    """
    backend = getattr(workspace, "_backend", None)
    svc = getattr(backend, "svc", None)
    if svc is not None:
        return LocalEnvironments(svc)
    if getattr(backend, "client", None) is not None:
        return RemoteEnvironments(backend.client)
    raise ConfigError(f"{type(workspace).__name__} is not a workspace; pass a Workspace")
