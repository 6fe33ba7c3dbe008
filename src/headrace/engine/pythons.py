"""Finding ``uv`` and the Python interpreters installed on this machine (nothing is ever downloaded)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from headrace.errors import EnvironmentBuildError

__all__ = ["find_python", "installed_pythons", "uv_binary", "uv_env"]

_VERSION = re.compile(r"^\d+(\.\d+){0,2}$")


def uv_binary() -> str:
    """The ``uv`` executable: the one installed with headrace, else the first on ``PATH``.

    Raises:
        EnvironmentBuildError: uv is not installed.
    """
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found is None:
            raise EnvironmentBuildError("uv is not installed: install headrace with its dependencies "
                                        "(pip install headrace) or put uv on PATH") from None
        return found


def uv_env(cache_root: Path | None = None) -> dict[str, str]:
    """The environment uv runs with: no Python downloads, no user config, its cache under ``cache_root``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEADRACE_", "VIRTUAL_ENV", "UV_"))}
    env.update(UV_PYTHON_DOWNLOADS="never", UV_NO_CONFIG="1", UV_NO_PROGRESS="1")
    if cache_root is not None:
        env["UV_CACHE_DIR"] = str(Path(cache_root) / ".uv-cache")
    return env


def installed_pythons() -> list[str]:
    """The versions of the CPython interpreters uv finds on this machine, newest first (the agent's included)."""
    found = {".".join(map(str, sys.version_info[:3]))}
    try:
        proc = subprocess.run([uv_binary(), "python", "list", "--only-installed", "--output-format", "json"],
                              capture_output=True, text=True, env=uv_env(), check=False)
        found.update(str(entry["version"]) for entry in json.loads(proc.stdout or "[]"))
    except (OSError, ValueError, KeyError, TypeError, EnvironmentBuildError):
        pass
    return sorted(found, key=lambda v: [int(p) if p.isdigit() else 0 for p in re.split(r"[.+a-z]", v)],
                  reverse=True)


def find_python(version: str | None) -> Path:
    """The interpreter for ``version`` ("3.11", "3.11.7"; None: the agent's own).

    Raises:
        EnvironmentBuildError: no installed interpreter matches, naming the installed versions.
    """
    if not version or _matches_agent(version):
        return Path(sys.executable)
    try:
        proc = subprocess.run([uv_binary(), "python", "find", "--no-project", str(version)], capture_output=True,
                              text=True, env=uv_env(), check=False)
    except OSError as exc:
        raise EnvironmentBuildError(f"could not look for Python {version}: {exc}") from exc
    path = proc.stdout.strip().splitlines()[-1] if proc.returncode == 0 and proc.stdout.strip() else ""
    if path and Path(path).exists():
        return Path(path)
    raise EnvironmentBuildError(
        f"Python {version} is not installed on this machine (headrace never downloads one); installed: "
        f"{', '.join(installed_pythons())}. Ask for one of these (python_version=...), or install {version}")


def _matches_agent(version: str) -> bool:
    text = version.strip().lstrip("=")
    if not _VERSION.match(text):
        return False
    asked = [int(p) for p in text.split(".")]
    return list(sys.version_info[: len(asked)]) == asked
