"""``Workspace``: where pipelines run and results are kept."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from headrace.config import load_settings
from headrace.errors import ConfigError

CONFIG_DIR = ".headrace"
CONFIG_FILE = "config.json"


class Workspace:
    """A headrace workspace: a local embedded home (``HEADRACE_HOME``) or, later, a remote server.

    Args:
        home: the home folder of a local workspace (default ``./.headrace``).
        db_url: SQLAlchemy URL of the metadata store (default SQLite in the home).

    Example:
        >>> ws = Workspace.from_config()
        >>> ds = ws.get_default_datastore()
    """

    def __init__(self, home: str | os.PathLike[str] | None = None, *, db_url: str | None = None,
                 _backend: Any = None):
        if _backend is None:
            from headrace.sdk.local import local_backend

            _backend = local_backend(load_settings(home=home, db_url=db_url))
        self._backend = _backend

    @classmethod
    def from_config(cls, path: str | os.PathLike[str] | None = None) -> Workspace:
        """Find the workspace configuration.

        Order: ``HEADRACE_URL`` (+ ``HEADRACE_TOKEN``) or ``HEADRACE_HOME`` in the environment; else
        ``path`` (a config file or a folder holding ``.headrace/config.json``), else the first
        ``.headrace/config.json`` from the current folder upwards; else ``./.headrace``.

        Raises:
            ConfigError: the config file is unreadable or names a remote server (not yet supported).
        """
        if os.environ.get("HEADRACE_URL"):
            raise ConfigError(
                "HEADRACE_URL points to a remote headrace server, which this version cannot reach yet; "
                "unset it and use HEADRACE_HOME for a local workspace"
            )
        if os.environ.get("HEADRACE_HOME"):
            return cls(os.environ["HEADRACE_HOME"])
        config = _find_config(Path(path) if path else None)
        if config is None:
            return cls()
        try:
            data = json.loads(config.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read workspace config {config}: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"workspace config {config} must hold a JSON object")
        if data.get("url"):
            raise ConfigError(
                f"{config} names a remote server ({data['url']}), which this version cannot reach yet"
            )
        home = data.get("home")
        if home:
            home_path = Path(home)
            if not home_path.is_absolute():
                home_path = (config.parent / home_path).resolve()
        else:
            home_path = config.parent
        return cls(home_path, db_url=data.get("db_url"))

    @property
    def home(self) -> Path:
        return self._backend.home

    @property
    def name(self) -> str:
        return str(self.home)

    def get_default_datastore(self):
        """The ``workspaceblobstore`` datastore."""
        from headrace.sdk.datastore import Datastore

        return Datastore(self, "workspaceblobstore")

    @property
    def datastores(self) -> dict[str, Any]:
        """Registered datastores by name."""
        from headrace.sdk.datastore import Datastore

        return {r.name: Datastore(self, r.name) for r in self._backend.list_datastores()}

    @property
    def experiments(self) -> dict[str, Any]:
        """Experiments by name."""
        from headrace.sdk.experiment import Experiment

        return {e.name: Experiment(self, e.name) for e in self._backend.list_experiments()}

    # Called by core.Pipeline.submit (duck-typed so the definition layer never imports the SDK).
    def _submit_pipeline(self, pipeline: Any, experiment_name: str, **options: Any):
        from headrace.sdk.experiment import Experiment

        return Experiment(self, experiment_name).submit(pipeline, **options)

    def _publish_pipeline(self, pipeline: Any, name: str, description: str | None = None,
                          version: str | None = None, continue_on_step_failure: bool | None = None):
        from headrace.sdk.published import PublishedPipeline

        record = self._backend.publish_pipeline(pipeline, name=name, description=description, version=version,
                                                continue_on_step_failure=continue_on_step_failure)
        return PublishedPipeline(self, record)

    def __repr__(self) -> str:
        return f"Workspace(home={str(self.home)!r})"


def _find_config(start: Path | None) -> Path | None:
    if start is not None:
        if start.is_file():
            return start
        for candidate in (start / CONFIG_DIR / CONFIG_FILE, start / CONFIG_FILE):
            if candidate.is_file():
                return candidate
        raise ConfigError(f"no workspace config at {start}: expected {start / CONFIG_DIR / CONFIG_FILE}")
    folder = Path.cwd()
    for parent in (folder, *folder.parents):
        candidate = parent / CONFIG_DIR / CONFIG_FILE
        if candidate.is_file():
            return candidate
    return None
