"""Azure ML's run configuration objects: `RunConfiguration`, `CondaDependencies`, `DEFAULT_CPU_IMAGE`.

A step accepts them and records what they ask for in the frozen graph (`runconfig_record`). This
version runs every step in the agent's own Python: its environment variables and target are
honoured; a Docker image, conda/pip packages, another interpreter, several nodes or another
framework are not yet (the environments issue brings them), and `ignored_settings` names them so
the step can warn.
"""

from __future__ import annotations

from typing import Any

DEFAULT_CPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04"
"""Azure ML's default CPU base image name (recorded; headrace runs no container yet)."""
DEFAULT_GPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.8-cudnn8-ubuntu22.04"
"""Azure ML's default GPU base image name (recorded; headrace runs no container yet)."""
MPI_CPU_IMAGE = DEFAULT_CPU_IMAGE
MPI_GPU_IMAGE = DEFAULT_GPU_IMAGE

DEFAULT_PYTHON_VERSION = "3.10"


class IgnoredSettingWarning(UserWarning):
    """A run configuration asks for something this version records but does not apply."""


class CondaDependencies:
    """Conda and pip packages a step's environment should have.

    Example:
        >>> cd = CondaDependencies.create(pip_packages=["pandas"], conda_packages=["scikit-learn"])
        >>> cd.add_pip_package("numpy")
        >>> list(cd.pip_packages), list(cd.conda_packages)
        (['pandas', 'numpy'], ['scikit-learn'])
    """

    def __init__(self, conda_dependencies_file_path: str | None = None, _underlying_structure: Any = None):
        self._python = DEFAULT_PYTHON_VERSION
        self._channels: list[str] = ["conda-forge"]
        self._conda: list[str] = []
        self._pip: list[str] = []
        if conda_dependencies_file_path is not None:
            self._read(conda_dependencies_file_path)

    @staticmethod
    def create(pip_indexurl: str | None = None, pip_packages: list[str] | None = None,
               conda_packages: list[str] | None = None, python_version: str | None = DEFAULT_PYTHON_VERSION,
               pin_sdk_version: bool = True) -> CondaDependencies:
        """A new set of dependencies (``pip_indexurl`` and ``pin_sdk_version`` are accepted and ignored)."""
        deps = CondaDependencies()
        if python_version:
            deps.set_python_version(python_version)
        for package in conda_packages or []:
            deps.add_conda_package(package)
        for package in pip_packages or []:
            deps.add_pip_package(package)
        return deps

    @property
    def conda_packages(self) -> list[str]:
        return list(self._conda)

    @property
    def pip_packages(self) -> list[str]:
        return list(self._pip)

    @property
    def conda_channels(self) -> list[str]:
        return list(self._channels)

    def get_python_version(self) -> str:
        return self._python

    def set_python_version(self, version: str) -> None:
        self._python = str(version)

    def add_conda_package(self, conda_package: str) -> None:
        if conda_package not in self._conda:
            self._conda.append(conda_package)

    def add_pip_package(self, pip_package: str) -> None:
        if pip_package not in self._pip:
            self._pip.append(pip_package)

    def remove_conda_package(self, conda_package: str) -> None:
        self._conda = [p for p in self._conda if p != conda_package]

    def remove_pip_package(self, pip_package: str) -> None:
        self._pip = [p for p in self._pip if p != pip_package]

    def add_channel(self, channel: str) -> None:
        if channel not in self._channels:
            self._channels.append(channel)

    def serialize_to_string(self) -> str:
        """The dependencies as a conda environment file (YAML)."""
        lines = ["name: project_environment", "channels:", *[f"  - {c}" for c in self._channels],
                 "dependencies:", f"  - python={self._python}", *[f"  - {p}" for p in self._conda]]
        if self._pip:
            lines += ["  - pip", "  - pip:", *[f"    - {p}" for p in self._pip]]
        return "\n".join(lines) + "\n"

    def save(self, path: str) -> str:
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.serialize_to_string())
        return path

    save_to_file = save

    def _read(self, path: str) -> None:
        # A small reader for the files serialize_to_string writes (and simple hand-written ones).
        section = None
        with open(path, encoding="utf-8") as f:
            for raw in f:
                line = raw.split("#", 1)[0].rstrip()
                if not line.strip():
                    continue
                if not line.startswith(" "):
                    section = line.rstrip(":").strip()
                    continue
                item = line.strip().removeprefix("- ").strip()
                if section == "channels":
                    self.add_channel(item)
                elif section == "dependencies" and raw.startswith("    "):
                    self.add_pip_package(item)
                elif section == "dependencies" and item.startswith("python="):
                    self._python = item.split("=", 1)[1]
                elif section == "dependencies" and item not in ("pip", "pip:"):
                    self.add_conda_package(item)

    def __repr__(self) -> str:
        return f"CondaDependencies(conda={self._conda!r}, pip={self._pip!r}, python={self._python!r})"


class DockerSection:
    """``environment.docker``: whether and in which image a step runs."""

    def __init__(self) -> None:
        self.enabled = False
        self.base_image: str | None = None
        self.base_dockerfile: str | None = None
        self.shm_size: str | None = None
        self.arguments: list[str] = []


class DockerConfiguration:
    """``RunConfiguration.docker`` (Azure ML's newer place for "run in Docker"); recorded, not applied."""

    def __init__(self, use_docker: bool = False, shared_volumes: bool = True, arguments: list[str] | None = None,
                 shm_size: str | None = "2g"):
        self.use_docker = use_docker
        self.shared_volumes = shared_volumes
        self.arguments = list(arguments or [])
        self.shm_size = shm_size


class DataReferenceConfiguration:
    """Where a `DataReference` points and how a run sees it (what `DataReference.to_config()` returns)."""

    def __init__(self, datastore_name: str | None = None, mode: str = "mount", path_on_datastore: str | None = None,
                 path_on_compute: str | None = None, overwrite: bool = False):
        self.datastore_name = datastore_name
        self.mode = mode
        self.path_on_datastore = path_on_datastore
        self.path_on_compute = path_on_compute
        self.overwrite = overwrite


class PythonSection:
    """``environment.python``: which interpreter and packages a step runs with."""

    def __init__(self) -> None:
        self.user_managed_dependencies = False
        self.interpreter_path = "python"
        self.conda_dependencies = CondaDependencies()
        self.conda_dependencies_file: str | None = None


class EnvironmentDefinition:
    """``RunConfiguration.environment``: docker, python and environment variables."""

    def __init__(self, name: str = "default-environment") -> None:
        self.name = name
        self.version: str | None = None
        self.docker = DockerSection()
        self.python = PythonSection()
        self.environment_variables: dict[str, str] = {}


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
                 _history_enabled: Any = None, _path: Any = None, _name: Any = None, command: Any = None):
        self.script = script
        self.arguments = list(arguments or [])
        self.framework = framework or "Python"
        self.communicator = communicator or "None"
        self.command = command or ""
        self.node_count = 1
        self.max_run_duration_seconds: int | None = None
        self.environment = EnvironmentDefinition()
        self.docker = DockerConfiguration()
        if conda_dependencies is not None:
            self.environment.python.conda_dependencies = conda_dependencies
        self._target = "local"

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
    """What ``rc`` asks for that this version does not apply, one short phrase each."""
    env, found = rc.environment, []
    if env.docker.enabled or env.docker.base_image or env.docker.base_dockerfile or rc.docker.use_docker:
        found.append(f"docker image {env.docker.base_image or env.docker.base_dockerfile or DEFAULT_CPU_IMAGE}")
    deps = env.python.conda_dependencies
    if not env.python.user_managed_dependencies and deps is not None:
        if deps.conda_packages:
            found.append("conda packages " + ", ".join(deps.conda_packages))
        if deps.pip_packages:
            found.append("pip packages " + ", ".join(deps.pip_packages))
    if env.python.interpreter_path not in ("python", None):
        found.append(f"interpreter {env.python.interpreter_path}")
    if rc.node_count != 1:
        found.append(f"node_count {rc.node_count}")
    if rc.framework not in ("Python", "python"):
        found.append(f"framework {rc.framework}")
    return found


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
    }
