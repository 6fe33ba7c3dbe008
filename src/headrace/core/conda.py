"""Azure ML's ``CondaDependencies``: the conda and pip packages an environment asks for.

headrace builds environments with ``uv`` (see ``headrace.engine.environments``): the pip part (packages and
pip options such as ``--index-url`` or ``--find-links``) is installed; conda packages and channels are kept
in the definition and named in a warning, because no conda channel is reachable from a headrace agent.
"""

from __future__ import annotations

import os
from typing import Any

from headrace.errors import DefinitionError

PYTHON_DEFAULT_VERSION: str | None = None
"""headrace's default: no version asked, so the environment gets the agent's own Python version
(Azure ML pins one here, which would have to be installed on every agent)."""

_SDK_PREFIXES = ("azureml-", "azureml_")


def is_option(line: str) -> bool:
    """Whether a pip section line is an option (``--index-url URL``) rather than a requirement."""
    return line.lstrip().startswith("-")


def provided_by_headrace(requirement: str) -> bool:
    """Azure ML SDK packages (``azureml-defaults``, ``azureml-core``...): headrace serves their API itself."""
    return requirement.strip().lower().startswith(_SDK_PREFIXES)


class CondaDependencies:
    """Conda and pip packages an environment should have.

    Example:
        >>> cd = CondaDependencies.create(pip_packages=["pandas"], conda_packages=["scikit-learn"])
        >>> cd.add_pip_package("numpy")
        >>> list(cd.pip_packages), list(cd.conda_packages)
        (['pandas', 'numpy'], ['scikit-learn'])
    """

    def __init__(self, conda_dependencies_file_path: str | None = None, _underlying_structure: Any = None):
        """Args:
            conda_dependencies_file_path: a conda environment file (YAML) to read.
            _underlying_structure: the parsed YAML document instead of a file (Azure ML's private argument).

        Raises:
            DefinitionError: the file cannot be read or is not a conda environment file.
        """
        self._python: str | None = PYTHON_DEFAULT_VERSION
        self._channels: list[str] = ["conda-forge"]
        self._conda: list[str] = []
        self._pip: list[str] = []  # requirements and options, in file order
        self._base = os.getcwd()  # relative --find-links paths are resolved against it
        if conda_dependencies_file_path is not None:
            import yaml  # on use: most pipelines read no conda file (~10 ms of every script's start)

            path = os.fspath(conda_dependencies_file_path)
            try:
                with open(path, encoding="utf-8") as f:
                    doc = yaml.safe_load(f)
            except (OSError, yaml.YAMLError) as exc:
                raise DefinitionError([f"cannot read the conda file {path!r}: {exc}"]) from exc
            self._base = os.path.dirname(os.path.abspath(path))
            self._load(doc, path)
        elif _underlying_structure is not None:
            self._load(_underlying_structure, "<conda specification>")

    @staticmethod
    def create(pip_indexurl: str | None = None, pip_packages: list[str] | None = None,
               conda_packages: list[str] | None = None, python_version: str | None = PYTHON_DEFAULT_VERSION,
               pin_sdk_version: bool = True) -> CondaDependencies:
        """A new set of dependencies.

        Args:
            pip_indexurl: an extra package index (``--extra-index-url``), or a whole pip option line.
            pip_packages: pip requirements (``"pandas>=2"``); option lines (``"--find-links DIR"``) are kept as options.
            conda_packages: conda packages (recorded, not installed: see the module docstring).
            python_version: e.g. "3.11"; None means the agent's Python version.
            pin_sdk_version: accepted for Azure ML code; Azure ML SDK packages are served by headrace itself.
        """
        deps = CondaDependencies()
        if python_version:
            deps.set_python_version(python_version)
        if pip_indexurl:
            deps.set_pip_index_url(pip_indexurl)
        for package in conda_packages or []:
            deps.add_conda_package(package)
        for package in pip_packages or []:
            deps.add_pip_package(package)
        return deps

    @property
    def conda_packages(self) -> list[str]:
        return [p for p in self._conda if not p.startswith(("python=", "python>", "python<")) and p != "python"]

    @property
    def pip_packages(self) -> list[str]:
        """The pip requirements (without options)."""
        return [p for p in self._pip if not is_option(p)]

    @property
    def pip_options(self) -> list[str]:
        """The pip option lines (``--index-url URL``, ``--find-links DIR``...)."""
        return [p for p in self._pip if is_option(p)]

    @property
    def conda_channels(self) -> list[str]:
        return list(self._channels)

    def get_python_version(self) -> str | None:
        """The Python version asked for, or None (the agent's)."""
        return self._python

    def set_python_version(self, version: str) -> None:
        self._python = str(version).strip()

    def add_conda_package(self, conda_package: str) -> None:
        if conda_package.startswith("python=") or conda_package.startswith("python=="):
            self.set_python_version(conda_package.split("=")[-1])
            return
        if conda_package not in self._conda:
            self._conda.append(conda_package)

    def add_pip_package(self, pip_package: str) -> None:
        if is_option(pip_package):
            self.set_pip_option(pip_package)
        elif pip_package not in self._pip:
            self._pip.append(pip_package)

    def set_pip_option(self, pip_option: str) -> None:
        """Add a pip option line (``--extra-index-url URL``, ``--find-links DIR``, ``--no-index``).

        Raises:
            DefinitionError: the line does not start with "-".
        """
        if not is_option(pip_option):
            raise DefinitionError([f"pip option {pip_option!r} must start with '-' (e.g. '--extra-index-url URL')"])
        line = _absolute_links(pip_option.strip(), self._base)
        if line not in self._pip:
            self._pip.append(line)

    def set_pip_index_url(self, index_url: str) -> None:
        """Use another package index: a URL is an extra index (``--extra-index-url``), an option line is kept."""
        self.set_pip_option(index_url if is_option(index_url) else f"--extra-index-url {index_url}")

    def set_pip_requirements(self, pip_requirements: list[str]) -> None:
        """Replace the pip section by these lines (a requirements file's lines; comments are dropped)."""
        self._pip = []
        for raw in pip_requirements:
            line = raw.split(" #", 1)[0].strip()
            if line and not line.startswith("#"):
                self.add_pip_package(line)

    def remove_conda_package(self, conda_package: str) -> None:
        self._conda = [p for p in self._conda if p != conda_package]

    def remove_pip_package(self, pip_package: str) -> None:
        self._pip = [p for p in self._pip if p != pip_package]

    def add_channel(self, channel: str) -> None:
        if channel not in self._channels:
            self._channels.append(channel)

    def remove_channel(self, channel: str) -> None:
        self._channels = [c for c in self._channels if c != channel]

    def serialize_to_string(self) -> str:
        """The dependencies as a conda environment file (YAML)."""
        lines = ["name: project_environment", "channels:", *[f"  - {c}" for c in self._channels], "dependencies:"]
        lines += [f"  - python={self._python}"] if self._python else []
        lines += [f"  - {p}" for p in self._conda]
        if self._pip:
            lines += ["  - pip", "  - pip:", *[f"    - {p}" for p in self._pip]]
        return "\n".join(lines) + "\n"

    def save(self, path: str) -> str:
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.serialize_to_string())
        return path

    save_to_file = save

    def _copy(self) -> CondaDependencies:
        other = CondaDependencies()
        other.__dict__.update({k: list(v) if isinstance(v, list) else v for k, v in self.__dict__.items()})
        return other

    def _load(self, doc: Any, where: str) -> None:
        if not isinstance(doc, dict) or not isinstance(doc.get("dependencies", []), list):
            raise DefinitionError([f"{where} is not a conda environment file (a mapping with a 'dependencies' list)"])
        self._channels = [str(c) for c in doc.get("channels") or []]
        for item in doc.get("dependencies") or []:
            if isinstance(item, dict):
                for line in item.get("pip") or []:
                    self.add_pip_package(str(line))
            elif str(item).strip() != "pip":  # "pip" itself: uv installs without it
                self.add_conda_package(str(item).strip())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CondaDependencies) and self.serialize_to_string() == other.serialize_to_string()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"CondaDependencies(conda={self._conda!r}, pip={self._pip!r}, python={self._python!r})"


def _absolute_links(line: str, base: str) -> str:
    """``--find-links rel/dir`` as an absolute path: the environment is built in another folder, maybe later."""
    for flag in ("--find-links", "-f"):
        if line.startswith(flag + " ") or line.startswith(flag + "="):
            value = line[len(flag) + 1:].strip()
            if "://" not in value and not os.path.isabs(value):
                return f"{flag} {os.path.normpath(os.path.join(base, value))}"
    return line
