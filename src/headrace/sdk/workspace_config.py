"""Finding and reading workspace configuration files, and the Azure-style identity of a workspace.

A config file is ``.headrace/config.json``, or Azure ML's own ``.azureml/config.json`` /
``config.json`` (so a notebook folder keeps working unchanged). It is a JSON object with any of:

- ``home`` / ``db_url``: a local embedded workspace; ``url`` / ``token``: a headrace server.
- ``subscription_id``, ``resource_group``, ``workspace_name``, ``location``: the names Azure ML
  code prints and passes around; headrace only records them.
- ``workspaces``: ``{"<workspace_name>": {"home": ...} | {"url": ..., "token": ...}, ...}``, the
  workspaces ``Workspace.get(name)`` and ``Workspace(subscription_id, resource_group, name)`` find.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from headrace.errors import ConfigError

HEADRACE_DIR = ".headrace"
CONFIG_FILE = "config.json"
# Searched in this order in each folder, from the start folder upwards (Azure ML searches the last two).
SEARCHED = (Path(HEADRACE_DIR) / CONFIG_FILE, Path(".azureml") / CONFIG_FILE, Path(CONFIG_FILE))

LOCAL_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
LOCAL_RESOURCE_GROUP = "headrace"
LOCAL_LOCATION = "local"


@dataclass(frozen=True)
class Identity:
    """What Azure ML code reads off a workspace: its name and where it "lives"."""

    name: str
    subscription_id: str = LOCAL_SUBSCRIPTION
    resource_group: str = LOCAL_RESOURCE_GROUP
    location: str = LOCAL_LOCATION

    @classmethod
    def from_config(cls, data: dict[str, Any], default_name: str) -> Identity:
        return cls(
            name=str(data.get("workspace_name") or default_name),
            subscription_id=str(data.get("subscription_id") or LOCAL_SUBSCRIPTION),
            resource_group=str(data.get("resource_group") or LOCAL_RESOURCE_GROUP),
            location=str(data.get("location") or LOCAL_LOCATION),
        )


def find_config(start: Path | None) -> Path | None:
    """The config file at ``start`` (a file or a folder), or the first one from the current folder up.

    Raises:
        ConfigError: ``start`` is given and holds no config file.
    """
    if start is not None:
        if start.is_file():
            return start
        for candidate in SEARCHED:
            if (start / candidate).is_file():
                return start / candidate
        raise ConfigError(f"no workspace config at {start}: expected {start / HEADRACE_DIR / CONFIG_FILE}")
    folder = Path.cwd()
    for parent in (folder, *folder.parents):
        for candidate in SEARCHED:
            if (parent / candidate).is_file() and (candidate != SEARCHED[-1] or _is_workspace_file(parent / candidate)):
                return parent / candidate
    return None


_KEYS = {"home", "db_url", "url", "token", "workspace_name", "subscription_id", "resource_group", "workspaces"}


def _is_workspace_file(path: Path) -> bool:
    """A bare ``config.json`` met on the way up counts only when it holds workspace keys (it may be another
    tool's file)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and bool(_KEYS & set(data))


def read_config(config: Path) -> dict[str, Any]:
    """The JSON object in ``config``. Raises: ConfigError (unreadable, not an object, bad url)."""
    try:
        data = json.loads(config.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read workspace config {config}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"workspace config {config} must hold a JSON object")
    check_url(data.get("url"), str(config))
    return data


def check_url(url: Any, where: str) -> None:
    if url and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
        raise ConfigError(f"{where}: \"url\" must be a server address such as http://127.0.0.1:8765, not {url!r}")


def default_home(config: Path, data: dict[str, Any]) -> Path:
    """The home a local config names: ``home`` relative to the file, else the file's own folder for
    ``.headrace/config.json`` and ``<folder>/.headrace`` for Azure ML's files (never the project folder)."""
    home = data.get("home")
    if home:
        path = Path(os.path.expanduser(str(home)))
        return path if path.is_absolute() else (config.parent / path).resolve()
    if config.parent.name == HEADRACE_DIR:
        return config.parent
    base = config.parent.parent if config.parent.name == ".azureml" else config.parent
    return base / HEADRACE_DIR


def home_name(home: Path) -> str:
    """A readable default name for a local workspace: its project folder when the home is a ``.headrace``."""
    home = Path(home).resolve()
    return home.parent.name if home.name == HEADRACE_DIR and home.parent.name else home.name


def named_entry(name: str, start: Path | None = None) -> tuple[dict[str, Any], Path]:
    """The settings of the workspace called ``name`` and the config file that names it.

    Looked up in the config file found from ``start`` (or the current folder): its ``workspaces``
    entry for ``name``, else the file itself when its ``workspace_name`` is ``name``.

    Raises:
        ConfigError: no config file names ``name``; the message lists the names it knows.
    """
    config = find_config(start)
    if config is None:
        raise ConfigError(
            f"no workspace named {name!r}: no config file found (searched .headrace/config.json, "
            ".azureml/config.json and config.json from the current folder up); add "
            f'{{"workspaces": {{"{name}": {{"home": "..."}}}}}} or {{"workspace_name": "{name}"}} to one')
    data = read_config(config)
    entries = data.get("workspaces") or {}
    if not isinstance(entries, dict):
        raise ConfigError(f"{config}: \"workspaces\" must map workspace names to settings objects")
    if name in entries:
        entry = entries[name]
        if not isinstance(entry, dict):
            raise ConfigError(f"{config}: workspaces[{name!r}] must be an object with \"home\" or \"url\"")
        check_url(entry.get("url"), f"{config}: workspaces[{name!r}]")
        return {**{k: v for k, v in data.items() if k != "workspaces"}, **entry, "workspace_name": name}, config
    if data.get("workspace_name") == name:
        return data, config
    known = sorted([*entries, *([data["workspace_name"]] if data.get("workspace_name") else [])])
    raise ConfigError(f"no workspace named {name!r} in {config}; it names: {', '.join(known) or 'none'} "
                      "(add it under \"workspaces\")")
