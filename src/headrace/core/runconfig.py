"""Azure ML's run configuration objects: `RunConfiguration`, `CondaDependencies`, `DEFAULT_CPU_IMAGE`.

A step accepts them and records what they ask for in the frozen graph (`runconfig_record`). Its
environment (``rc.environment``: Python version, pip packages, variables) is built and used (see
``core.environment``); conda packages, a Docker image, another interpreter path, several nodes or another
framework are recorded only, and `ignored_settings` names them so the step can warn.
"""

from __future__ import annotations

from typing import Any

from headrace.core.conda import CondaDependencies
from headrace.core.environment import (
    DEFAULT_CPU_IMAGE,
    DEFAULT_GPU_IMAGE,
    DockerSection,
    EnvironmentDefinition,
    IgnoredSettingWarning,
    PythonSection,
    not_honoured,
)

DEFAULT_ENVIRONMENT = "default-environment"
"""The name of a run configuration's own environment (the agent's interpreter unless given packages)."""
MPI_CPU_IMAGE = DEFAULT_CPU_IMAGE
MPI_GPU_IMAGE = DEFAULT_GPU_IMAGE

__all__ = ["DEFAULT_CPU_IMAGE", "DEFAULT_GPU_IMAGE", "MPI_CPU_IMAGE", "MPI_GPU_IMAGE", "CondaDependencies",
           "DataReferenceConfiguration", "DockerConfiguration", "DockerSection", "MpiConfiguration", "EnvironmentDefinition",
           "IgnoredSettingWarning", "PythonSection", "RunConfiguration", "ignored_settings", "runconfig_record"]


class DockerConfiguration:
    """``RunConfiguration.docker`` (Azure ML's newer place for "run in Docker"); recorded, not applied."""

    def __init__(self, use_docker: bool = False, shared_volumes: bool = True, arguments: list[str] | None = None,
                 shm_size: str | None = "2g"):
        self.use_docker = use_docker
        self.shared_volumes = shared_volumes
        self.arguments = list(arguments or [])
        self.shm_size = shm_size


class MpiConfiguration:
    """Azure ML's MPI job settings (``ScriptRunConfig(distributed_job_config=...)``): recorded and named by a
    warning, not applied; the script runs as one process."""

    def __init__(self, process_count_per_node: int = 1, node_count: int = 1):
        self.process_count_per_node = process_count_per_node
        self.node_count = node_count
        self.communicator = "IntelMpi"


class DataReferenceConfiguration:
    """Where a `DataReference` points and how a run sees it (what `DataReference.to_config()` returns)."""

    def __init__(self, datastore_name: str | None = None, mode: str = "mount", path_on_datastore: str | None = None,
                 path_on_compute: str | None = None, overwrite: bool = False):
        self.datastore_name = datastore_name
        self.mode = mode
        self.path_on_datastore = path_on_datastore
        self.path_on_compute = path_on_compute
        self.overwrite = overwrite


class RunConfiguration:
    """How a step runs: target, framework, node count and environment.

    Example:
        >>> rc = RunConfiguration()
        >>> rc.environment.docker.enabled = True
        >>> rc.environment.docker.base_image = DEFAULT_CPU_IMAGE
        >>> rc.environment.python.conda_dependencies = CondaDependencies.create(conda_packages=["scikit-learn"])
        >>> sorted(ignored_settings(rc))
        ['conda packages scikit-learn', 'docker image mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04']
    """

    def __init__(self, script: str | None = None, arguments: list[Any] | None = None, framework: str | None = None,
                 communicator: str | None = None, conda_dependencies: CondaDependencies | None = None,
                 _history_enabled: Any = None, _path: Any = None, _name: Any = None, command: Any = None,
                 environment: EnvironmentDefinition | None = None, resources: dict[str, float] | None = None):
        """Args are Azure ML's; ``environment`` (headrace's) sets ``self.environment`` at once, and
        ``conda_dependencies`` then replaces its packages. ``resources`` (headrace's, also an attribute) are the
        Dask resources the step asks of its worker (``{"GPU": 1, "MEMORY": 4e9}``, see ``core.resources``);
        a step's own ``resources=`` win per key."""
        self.script = script
        self.arguments = list(arguments or [])
        self.framework = framework or "Python"
        self.communicator = communicator or "None"
        self.command = command or ""
        self.node_count = 1
        self.max_run_duration_seconds: int | None = None
        self.environment = environment if environment is not None else EnvironmentDefinition(DEFAULT_ENVIRONMENT)
        self.docker = DockerConfiguration()
        if conda_dependencies is not None:
            self.environment.python.conda_dependencies = conda_dependencies
        self._target = "local"
        # a wrong type is kept for validate() to name
        self.resources: Any = {} if resources is None else dict(resources) if isinstance(resources, dict) else resources

    @property
    def target(self) -> str:
        """The compute target name (a compute target object may be assigned)."""
        return self._target

    @target.setter
    def target(self, value: Any) -> None:
        self._target = getattr(value, "name", value)

    @property
    def environment_variables(self) -> dict[str, str]:
        return self.environment.environment_variables

    @environment_variables.setter
    def environment_variables(self, value: dict[str, str]) -> None:
        self.environment.environment_variables = dict(value)

    def __repr__(self) -> str:
        return f"RunConfiguration(target={self._target!r}, framework={self.framework!r})"


def ignored_settings(rc: RunConfiguration) -> list[str]:
    """What ``rc`` asks for that headrace records but does not apply, one short phrase each."""
    env = rc.environment
    found = not_honoured(env.spec())
    if rc.docker.use_docker and not any(f.startswith("docker image") for f in found):
        found.append(f"docker image {env.docker.base_image or DEFAULT_CPU_IMAGE}")
    if env.python.interpreter_path not in ("python", None):
        found.append(f"interpreter {env.python.interpreter_path}")
    if rc.node_count != 1:
        found.append(f"node_count {rc.node_count}")
    if rc.framework not in ("Python", "python"):
        found.append(f"framework {rc.framework}")
    return found


def has_environment(rc: RunConfiguration) -> bool:
    """Whether ``rc`` carries an environment of its own (named, or asking for packages or a Python version)."""
    env = rc.environment
    spec = env.spec()
    return env.name != DEFAULT_ENVIRONMENT or bool(spec["pip"] or spec["python"] or spec["conda"])


def runconfig_record(rc: RunConfiguration) -> dict[str, Any]:
    """The JSON form of ``rc`` recorded in a step of the frozen graph."""
    env = rc.environment
    deps = env.python.conda_dependencies
    return {
        "target": rc.target, "framework": rc.framework, "node_count": rc.node_count,
        "docker": {"enabled": bool(env.docker.enabled or rc.docker.use_docker), "base_image": env.docker.base_image,
                   "base_dockerfile": env.docker.base_dockerfile},
        "python": {"user_managed_dependencies": bool(env.python.user_managed_dependencies),
                   "interpreter_path": env.python.interpreter_path,
                   "conda_dependencies": deps.serialize_to_string() if deps is not None else None},
        "environment_variables": {str(k): str(v) for k, v in env.environment_variables.items()},
        # only when given: the graphs (and ids) of pipelines without resources stay what they were
        **({"resources": dict(rc.resources)} if isinstance(rc.resources, dict) and rc.resources else {}),
    }
