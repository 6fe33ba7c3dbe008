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
    """A headrace workspace: a local embedded home (``HEADRACE_HOME``) or a remote server.

    Args:
        home: the home folder of a local workspace (default ``./.headrace``).
        db_url: SQLAlchemy URL of the metadata store of a local workspace (default SQLite in the home).
        url: the address of a headrace server (``http://host:8765``): a remote workspace.
        token: the token a remote workspace sends (``headrace token create``).
        timeout: seconds one call to a remote server may take.

    Raises:
        ConfigError: both a home and a URL are given.

    Example:
        >>> ws = Workspace.from_config()
        >>> ds = ws.get_default_datastore()
        >>> remote = Workspace(url="http://127.0.0.1:8765", token=token)  # doctest: +SKIP
    """

    def __init__(self, home: str | os.PathLike[str] | None = None, *, db_url: str | None = None,
                 url: str | None = None, token: str | None = None, timeout: float | None = None,
                 _backend: Any = None):
        if _backend is None and url:
            if home is not None or db_url is not None:
                raise ConfigError("a workspace is either local (home, db_url) or remote (url, token), not both")
            from headrace.client import HeadraceClient
            from headrace.sdk.remote import RemoteBackend

            client = HeadraceClient(url, token) if timeout is None else HeadraceClient(url, token, timeout)
            _backend = RemoteBackend(client)
        elif _backend is None:
            from headrace.sdk.local import local_backend

            _backend = local_backend(load_settings(home=home, db_url=db_url))
        self._backend = _backend
        self._token = token  # for InteractiveLoginAuthentication(workspace=...)

    @classmethod
    def from_config(cls, path: str | os.PathLike[str] | None = None) -> Workspace:
        """Find the workspace configuration.

        Order: ``HEADRACE_URL`` (+ ``HEADRACE_TOKEN``) or ``HEADRACE_HOME`` in the environment; else
        ``path`` (a config file or a folder holding ``.headrace/config.json``), else the first
        ``.headrace/config.json`` from the current folder upwards; else ``./.headrace``. A config
        holding ``{"url": ..., "token": ...}`` is a remote workspace (``HEADRACE_TOKEN`` is used
        when it has no token); ``{"home": ...}`` or none of these a local one.

        Raises:
            ConfigError: the config file is unreadable, or its URL is not an http(s) address.
        """
        if os.environ.get("HEADRACE_URL"):
            return cls(url=os.environ["HEADRACE_URL"], token=os.environ.get("HEADRACE_TOKEN") or None)
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
            if not isinstance(data["url"], str) or not data["url"].startswith(("http://", "https://")):
                raise ConfigError(f"{config}: \"url\" must be a server address such as http://127.0.0.1:8765, "
                                  f"not {data['url']!r}")
            token = data.get("token") or os.environ.get("HEADRACE_TOKEN") or None
            return cls(url=data["url"], token=token)
        home = data.get("home")
        if home:
            home_path = Path(home)
            if not home_path.is_absolute():
                home_path = (config.parent / home_path).resolve()
        else:
            home_path = config.parent
        return cls(home_path, db_url=data.get("db_url"))

    @property
    def is_remote(self) -> bool:
        """Whether calls go to a headrace server over HTTP."""
        return not self._backend.is_local

    @property
    def url(self) -> str | None:
        """The server's address for a remote workspace, else None."""
        return getattr(self._backend, "url", None) if self.is_remote else None

    @property
    def home(self) -> Path | None:
        """The home folder of a local workspace; None for a remote one."""
        return self._backend.home

    @property
    def name(self) -> str:
        return self.url if self.is_remote else str(self.home)  # type: ignore[return-value]

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
        if self.is_remote:
            return f"Workspace(url={self.url!r})"
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
