"""``Environment``: an environment definition that can be registered in a workspace, versioned, and fetched."""

from __future__ import annotations

from typing import Any

from headrace.core.environment import EnvironmentDefinition
from headrace.sdk.environments.backend import environments_of
from headrace.storage.records import EnvironmentRecord

__all__ = ["Environment", "EnvironmentBuild"]


class EnvironmentBuild:
    """The outcome of ``Environment.build``: what Azure ML's ``ImageBuildDetails`` offers, for a venv.

    Attributes:
        status: "Succeeded" (a failed build raises ``EnvironmentBuildError`` instead).
        log: the build log lines.
    """

    def __init__(self, log: list[str]):
        self.status = "Succeeded"
        self.log = list(log)

    def get_log(self) -> str:
        return "\n".join(self.log) + "\n"

    def wait_for_completion(self, show_output: bool = True) -> None:
        """The build is complete when ``build`` returns; prints the log when asked."""
        if show_output:
            print(self.get_log(), end="")


class Environment(EnvironmentDefinition):
    """A named, versioned Python environment for steps (Azure ML v1's ``Environment``).

    Registered versions are immutable; registering an unchanged definition returns its existing version.

    Example:
        >>> from headrace import CondaDependencies, Environment
        >>> env = Environment("train-env")
        >>> env.python.conda_dependencies = CondaDependencies.create(pip_packages=["scikit-learn"])
        >>> env.spec()["pip"]
        ['scikit-learn']
    """

    def register(self, workspace: Any) -> Environment:
        """Register this definition in ``workspace``: version 1, 2, ... (the same content, the same version).

        Returns:
            The registered environment (this object's ``version`` is set too).

        Raises:
            DefinitionError: the definition is malformed.
        """
        record = environments_of(workspace).register(self.name, self.spec(), None)
        self.version = str(record.version)
        return _from_record(record)

    @staticmethod
    def get(workspace: Any, name: str, version: str | int | None = None, label: str | None = None) -> Environment:
        """A registered environment: ``version``, or the newest one.

        Raises:
            NotFoundError: no such environment or version (the message names what exists).
        """
        return _from_record(environments_of(workspace).get(name, version))

    @staticmethod
    def list(workspace: Any) -> dict[str, Environment]:
        """The newest version of each registered environment, by name."""
        return {r.name: _from_record(r) for r in environments_of(workspace).list()}

    def build(self, workspace: Any, image_build_compute: Any = None) -> EnvironmentBuild:
        """Register this definition and build it on the workspace's agent now, so steps find it ready.

        Raises:
            EnvironmentBuildError: the packages do not resolve or install (the resolver's message), or the
                Python version asked for is not installed.
        """
        registered = self.register(workspace)
        _record, log = environments_of(workspace).build(registered.name, registered.version)
        return EnvironmentBuild(log)

    def build_local(self, workspace: Any, platform: Any = None, **kwargs: Any) -> EnvironmentBuild:
        """Azure ML builds a local image here; headrace builds on the workspace's agent (as ``build``)."""
        return self.build(workspace)


def _from_record(record: EnvironmentRecord) -> Environment:
    env: Environment = Environment._from_spec(record.name, record.version, record.spec)
    return env
