"""The home's ``config.json``: the admin token, the server URL. Private to its owner (mode 0600)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from headrace.errors import ConfigError


def read_home_config(path: Path) -> dict[str, Any]:
    """The config's keys ({} when the file does not exist).

    Raises:
        ConfigError: the file is not a JSON object.
    """
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except ValueError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a JSON object")
    return data


def set_home_config(path: Path, **keys: Any) -> None:
    """Set keys, keeping the others; written atomically and readable by the owner only."""
    data = read_home_config(path) | keys
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
