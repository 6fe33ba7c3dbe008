"""Environment definitions: the Python packages, Python version and variables a step runs with.

``EnvironmentDefinition`` holds what Azure ML's ``Environment`` holds (``python.conda_dependencies``,
``docker``, ``environment_variables``); the SDK's ``Environment`` adds the workspace calls (register, get,
list). A definition resolves to a *spec*, a plain JSON dict that the pipeline graph stores and the engine
materialises (``headrace.engine.environments.ensure``)::

    {"python": "3.11" or None,                  # None: the agent's Python version
     "pip": ["pandas>=2", "--find-links /wheels"],  # requirements and pip options, in order
     "conda": ["scikit-learn"], "channels": ["conda-forge"],  # recorded, not installed
     "docker": {"enabled": False, "base_image": None, "base_dockerfile": None},  # recorded, not applied
     "environment_variables": {"K": "V"},
     "user_managed": False}                     # True: nothing is built, the agent's interpreter runs the step

Its hash (``spec_hash``) identifies an environment's content: a registration with the same hash is the
same version, and a step's reuse key includes it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from collections.abc import Mapping
from typing import Any

from headrace.core.conda import CondaDependencies, provided_by_headrace
from headrace.errors import DefinitionError

DEFAULT_CPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04"
"""Azure ML's default CPU base image name (recorded; headrace runs no container)."""
DEFAULT_GPU_IMAGE = "mcr.microsoft.com/azureml/openmpi4.1.0-cuda11.8-cudnn8-ubuntu22.04"
"""Azure ML's default GPU base image name (recorded; headrace runs no container)."""

SPEC_FORMAT = 1
ENVIRONMENT_FILE = "azureml_environment.json"
CONDA_FILE = "conda_dependencies.yml"


class IgnoredSettingWarning(UserWarning):
    """A definition asks for something headrace records but does not apply (conda packages, a Docker image)."""


class DockerSection:
    """``environment.docker``: whether and in which image a step runs (recorded, not applied)."""

    def __init__(self) -> None:
        self.enabled = False
        self.base_image: str | None = None
        self.base_dockerfile: str | None = None
        self.base_image_registry: Any = None
        self.build_context: Any = None
        self.shared_volumes = True
        self.shm_size: str | None = None
        self.arguments: list[str] = []


class SparkSection:
    """``environment.spark``: Spark packages for PySpark steps (recorded when set; no Spark runs here)."""

    def __init__(self) -> None:
        self.repositories: list[str] = []
        self.packages: list[Any] = []
        self.precache_packages = True


class PythonSection:
    """``environment.python``: which packages a step runs with.

    Attributes:
        user_managed_dependencies: True: build nothing, run in the agent's interpreter.
        interpreter_path: recorded (headrace picks the interpreter).
        conda_dependencies: the packages; their pip part is installed.
    """

    def __init__(self) -> None:
        self.user_managed_dependencies = False
        self.interpreter_path = "python"
        self.conda_dependencies = CondaDependencies()
        self.conda_dependencies_file: str | None = None


class EnvironmentDefinition:
    """A named environment: Python version and packages, environment variables, Docker settings.

    Example:
        >>> env = EnvironmentDefinition("sklearn-env")
        >>> env.python.conda_dependencies = CondaDependencies.create(pip_packages=["scikit-learn"])
        >>> env.environment_variables["OMP_NUM_THREADS"] = "1"
        >>> env.spec()["pip"]
        ['scikit-learn']
    """

    def __init__(self, name: str, **kwargs: Any):
        """Args:
            name: the environment's name (its registrations are versions of that name).

        Raises:
            DefinitionError: ``name`` is not a non-empty str.
        """
        if not isinstance(name, str) or not name.strip():
            raise DefinitionError([f"environment name {name!r} is invalid; give a non-empty str"])
        self.name = name
        self.version: str | None = None
        self.python = PythonSection()
        self.docker = DockerSection()
        self.spark = SparkSection()
        self._environment_variables: dict[str, str] = {}
        self.inferencing_stack_version: str | None = None

    @property
    def environment_variables(self) -> dict[str, str]:
        """Variables every step in this environment gets."""
        return self._environment_variables

    @environment_variables.setter
    def environment_variables(self, value: Mapping[str, Any]) -> None:
        self._environment_variables = {str(k): str(v) for k, v in dict(value or {}).items()}

    @classmethod
    def from_pip_requirements(cls, name: str, file_path: str, pip_version: str | None = None) -> Any:
        """An environment with the packages (and pip options) of a requirements file.

        Raises:
            DefinitionError: the file cannot be read.
        """
        env = cls(name)
        try:
            with open(file_path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except OSError as exc:
            raise DefinitionError([f"environment {name!r}: cannot read the requirements file {file_path!r}: "
                                   f"{exc.strerror}"]) from exc
        deps = env.python.conda_dependencies
        deps._base = os.path.dirname(os.path.abspath(file_path))
        deps.set_pip_requirements(lines)
        return env

    @classmethod
    def from_conda_specification(cls, name: str, file_path: str) -> Any:
        """An environment from a conda file: its pip section is installed; conda packages are recorded and
        named in an ``IgnoredSettingWarning`` when a step uses the environment.

        Raises:
            DefinitionError: the file cannot be read or is not a conda environment file.
        """
        env = cls(name)
        env.python.conda_dependencies = CondaDependencies(file_path)
        return env

    @classmethod
    def from_docker_image(cls, name: str, image: str, container_registry: Any = None,
                          conda_specification: str | None = None, pip_requirements: str | None = None) -> Any:
        """An environment on a Docker image (recorded, not applied) with optional conda/pip files."""
        env = (cls.from_conda_specification(name, conda_specification) if conda_specification
               else cls.from_pip_requirements(name, pip_requirements) if pip_requirements else cls(name))
        env.docker.enabled = True
        env.docker.base_image = image
        env.docker.base_image_registry = container_registry
        return env

    def clone(self, new_name: str) -> Any:
        """A copy under another name, unregistered."""
        other = copy.deepcopy(self)
        other.name = new_name
        other.version = None
        return other

    def save_to_directory(self, path: str, overwrite: bool = False) -> None:
        """Write ``azureml_environment.json`` (name, version, spec) and ``conda_dependencies.yml`` into ``path``.

        Raises:
            DefinitionError: the files exist and ``overwrite`` is False.
        """
        folder = os.fspath(path)
        os.makedirs(folder, exist_ok=True)
        target = os.path.join(folder, ENVIRONMENT_FILE)
        if os.path.exists(target) and not overwrite:
            raise DefinitionError([f"{target} exists; pass overwrite=True to replace it"])
        with open(target, "w", encoding="utf-8") as f:
            json.dump({"name": self.name, "version": self.version, "spec": self.spec()}, f, indent=2)
        self.python.conda_dependencies.save(os.path.join(folder, CONDA_FILE))

    @classmethod
    def load_from_directory(cls, path: str) -> Any:
        """The environment ``save_to_directory`` wrote; an edited ``conda_dependencies.yml`` there wins.

        Raises:
            DefinitionError: the folder holds no readable ``azureml_environment.json``.
        """
        source = os.path.join(os.fspath(path), ENVIRONMENT_FILE)
        try:
            with open(source, encoding="utf-8") as f:
                doc = json.load(f)
            env = cls._from_spec(doc["name"], doc.get("version"), check_spec(doc.get("spec") or {}))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DefinitionError([f"cannot load an environment from {source}: {exc}"]) from exc
        conda = os.path.join(os.fspath(path), CONDA_FILE)
        if os.path.exists(conda):
            env.python.conda_dependencies = CondaDependencies(conda)
        return env

    def spec(self) -> dict[str, Any]:
        """The resolved spec (see the module docstring)."""
        deps = self.python.conda_dependencies or CondaDependencies()
        managed = bool(self.python.user_managed_dependencies)
        return {
            "format": SPEC_FORMAT,
            "python": None if managed else deps.get_python_version(),
            "pip": [] if managed else [p for p in deps._pip if not provided_by_headrace(p)],
            "conda": [] if managed else deps.conda_packages,
            "channels": [] if managed or not deps.conda_packages else deps.conda_channels,
            "docker": {"enabled": bool(self.docker.enabled), "base_image": self.docker.base_image,
                       "base_dockerfile": self.docker.base_dockerfile},
            "environment_variables": dict(self.environment_variables),
            "user_managed": managed,
            # Only when asked for, so that environments without Spark keep their hashes.
            **({"spark": {"repositories": list(self.spark.repositories), "packages": [str(p) for p in self.spark.packages]}}
               if self.spark.repositories or self.spark.packages else {}),
        }

    def _headrace_environment(self) -> dict[str, Any]:
        """What a step records in the pipeline graph: name, version, hash, spec."""
        return environment_record(self.name, self.version, self.spec())

    @classmethod
    def _from_spec(cls, name: str, version: Any, spec: Mapping[str, Any]) -> Any:
        """The definition a spec describes (what ``Environment.get`` returns)."""
        env = cls(name)
        env.version = None if version is None else str(version)
        deps = CondaDependencies()
        deps._channels = list(spec.get("channels") or ["conda-forge"])
        if spec.get("python"):
            deps.set_python_version(spec["python"])
        deps._conda = list(spec.get("conda") or [])
        deps._pip = list(spec.get("pip") or [])
        env.python.conda_dependencies = deps
        env.python.user_managed_dependencies = bool(spec.get("user_managed"))
        docker = spec.get("docker") or {}
        env.docker.enabled = bool(docker.get("enabled"))
        env.docker.base_image = docker.get("base_image")
        env.docker.base_dockerfile = docker.get("base_dockerfile")
        env.environment_variables = spec.get("environment_variables") or {}
        return env

    def __repr__(self) -> str:
        return f"Environment(name={self.name!r}, version={self.version!r})"


def spec_hash(spec: Mapping[str, Any]) -> str:
    """The sha256 of a spec's content (the name and version are not part of it)."""
    blob = json.dumps(dict(spec), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def environment_record(name: str, version: Any, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON a step of the frozen graph (and a run) stores for its environment."""
    return {"name": name, "version": None if version is None else str(version), "hash": spec_hash(spec),
            "spec": dict(spec)}


def not_honoured(spec: Mapping[str, Any]) -> list[str]:
    """What a spec asks for that headrace records but does not apply, one short phrase each."""
    found = []
    docker = spec.get("docker") or {}
    if docker.get("enabled") or docker.get("base_image") or docker.get("base_dockerfile"):
        found.append(f"docker image {docker.get('base_image') or docker.get('base_dockerfile') or DEFAULT_CPU_IMAGE}")
    if spec.get("conda"):
        found.append("conda packages " + ", ".join(spec["conda"]))
    spark = spec.get("spark") or {}
    if spark.get("packages") or spark.get("repositories"):
        found.append("spark packages " + ", ".join([*spark.get("packages", []), *spark.get("repositories", [])]))
    return found


def needs_build(spec: Mapping[str, Any]) -> bool:
    """Whether the spec asks for anything beyond the agent's own interpreter."""
    return not spec.get("user_managed") and bool(spec.get("pip") or spec.get("python"))


def check_spec(spec: Any) -> dict[str, Any]:
    """A spec received from outside (REST, a stored graph) with its defaults filled in.

    Raises:
        DefinitionError: a field has the wrong type.
    """
    if not isinstance(spec, Mapping):
        raise DefinitionError([f"an environment spec must be a JSON object, not {type(spec).__name__}"])
    problems = []
    clean = EnvironmentDefinition("check").spec()
    known = [*clean, "spark"]  # spark: only in specs that ask for Spark packages
    for key, value in spec.items():
        if key not in known:
            problems.append(f"environment spec: unknown field {key!r}; fields: {', '.join(known)}")
        elif key in ("pip", "conda", "channels") and not (
                isinstance(value, list) and all(isinstance(v, str) for v in value)):
            problems.append(f"environment spec: {key} must be a list of strings")
        elif key == "python" and value is not None and not isinstance(value, str):
            problems.append("environment spec: python must be a version string or null")
        elif key in ("docker", "environment_variables", "spark") and not isinstance(value, Mapping):
            problems.append(f"environment spec: {key} must be an object")
        else:
            clean[key] = value
    if problems:
        raise DefinitionError(problems)
    clean["environment_variables"] = {str(k): str(v) for k, v in clean["environment_variables"].items()}
    return clean
