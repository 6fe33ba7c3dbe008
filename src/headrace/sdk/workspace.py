"""``Workspace``: where pipelines run and results are kept."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from headrace.errors import ConfigError
from headrace.sdk.workspace_config import (
    Identity,
    default_home,
    find_config,
    home_name,
    named_entry,
    read_config,
)


class Workspace:
    """A headrace workspace: a local embedded home (``HEADRACE_HOME``) or a remote server.

    ``Workspace(subscription_id, resource_group, workspace_name)`` (Azure ML's form) opens the
    workspace a config file names ``workspace_name`` (see ``headrace.sdk.workspace_config``); the
    two ids are only recorded. ``Workspace(home)`` or ``Workspace(url=..., token=...)`` open one
    directly.

    Args:
        subscription_id: Azure ML's first argument; or, given alone, the home folder (headrace's form).
        resource_group: recorded as ``resource_group``.
        workspace_name: the name of a workspace a config file lists.
        auth: accepted for Azure ML code and ignored (a remote workspace authenticates with ``token``).
        home: the home folder of a local workspace (default ``./.headrace``).
        db_url: SQLAlchemy URL of the metadata store of a local workspace (default SQLite in the home).
        url: the address of a headrace server (``http://host:8765``): a remote workspace.
        token: the token a remote workspace sends (``headrace token create``).
        timeout: seconds one call to a remote server may take.

    Raises:
        ConfigError: both a home and a URL are given, or no config file names ``workspace_name``.

    Example:
        >>> ws = Workspace.from_config()
        >>> ds = ws.get_default_datastore()
        >>> remote = Workspace(url="http://127.0.0.1:8765", token=token)  # doctest: +SKIP
    """

    def __init__(self, subscription_id: Any = None, resource_group: str | None = None,
                 workspace_name: str | None = None, auth: Any = None, *,
                 home: str | os.PathLike[str] | None = None, db_url: str | None = None,
                 url: str | None = None, token: str | None = None, timeout: float | None = None,
                 _backend: Any = None, _identity: Identity | None = None):
        if workspace_name is None and resource_group is None and subscription_id is not None:
            if home is not None:
                raise ConfigError("pass the home folder once (positionally or as home=)")
            home, subscription_id = subscription_id, None
        if workspace_name is not None:
            entry, config = named_entry(workspace_name)
            _identity = Identity.from_config(
                {**entry, "subscription_id": subscription_id or entry.get("subscription_id"),
                 "resource_group": resource_group or entry.get("resource_group")}, workspace_name)
            if _backend is None and not (url or home or db_url):
                url, token = entry.get("url"), token or entry.get("token") or os.environ.get("HEADRACE_TOKEN")
                if not url:
                    home, db_url = default_home(config, entry), entry.get("db_url")
        if _backend is None and url:
            if home is not None or db_url is not None:
                raise ConfigError("a workspace is either local (home, db_url) or remote (url, token), not both")
            from headrace.client import HeadraceClient
            from headrace.sdk.remote import RemoteBackend

            client = HeadraceClient(url, token) if timeout is None else HeadraceClient(url, token, timeout)
            _backend = RemoteBackend(client)
        elif _backend is None:
            from headrace.sdk.resident import connect

            _backend = connect(home, db_url)  # the home's resident agent, when one listens
            if _backend is None:
                from headrace.config import load_settings
                from headrace.sdk.local import local_backend

                _backend = local_backend(load_settings(home=home, db_url=db_url))
        self._backend = _backend
        if _identity is None:
            default = urlsplit(self.url).netloc if self.is_remote else home_name(self.home)  # type: ignore[arg-type]
            _identity = Identity.from_config({"subscription_id": subscription_id,
                                              "resource_group": resource_group}, default)
        self._identity = _identity
        self._token = token  # for InteractiveLoginAuthentication(workspace=...)

    @classmethod
    def from_config(cls, path: str | os.PathLike[str] | None = None, auth: Any = None,
                    _logger: Any = None, _file_name: str | None = None) -> Workspace:
        """Find the workspace configuration.

        Order: ``HEADRACE_URL`` (+ ``HEADRACE_TOKEN``) or ``HEADRACE_HOME`` in the environment; else
        ``path`` (a config file or a folder holding one), else the first of ``.headrace/config.json``,
        ``.azureml/config.json`` or ``config.json`` from the current folder upwards; else
        ``./.headrace``. A config holding ``{"url": ..., "token": ...}`` is a remote workspace
        (``HEADRACE_TOKEN`` is used when it has no token); else a local one whose home is ``home``,
        or the ``.headrace`` folder holding (or next to) the config file. ``workspace_name``,
        ``subscription_id``, ``resource_group`` and ``location`` are read for the attributes of the
        same names. ``auth`` is accepted and ignored.

        Raises:
            ConfigError: the config file is unreadable, or its URL is not an http(s) address.
        """
        if os.environ.get("HEADRACE_URL"):
            return cls(url=os.environ["HEADRACE_URL"], token=os.environ.get("HEADRACE_TOKEN") or None)
        if os.environ.get("HEADRACE_HOME"):
            return cls(home=os.environ["HEADRACE_HOME"])
        config = find_config(Path(path) if path else None)
        if config is None:
            return cls()
        data = read_config(config)
        if data.get("url"):
            token = data.get("token") or os.environ.get("HEADRACE_TOKEN") or None
            ws = cls(url=data["url"], token=token)
        else:
            ws = cls(home=default_home(config, data), db_url=data.get("db_url"))
        ws._identity = Identity.from_config(data, ws._identity.name)
        return ws

    @staticmethod
    def get(name: str, auth: Any = None, subscription_id: str | None = None, resource_group: str | None = None,
            location: str | None = None, cloud: str = "AzureCloud", id: str | None = None) -> Workspace:
        """The workspace a config file names ``name`` (its ``workspaces`` entry, or its
        ``workspace_name``); ``auth``, ``location``, ``cloud`` and ``id`` are accepted and ignored.

        Raises:
            ConfigError: no config file names ``name``; the message lists the names it knows.
        """
        return Workspace(subscription_id, resource_group, name)

    @property
    def name(self) -> str:
        """The workspace name: ``workspace_name`` from the config, else the project folder of a local
        home (the folder holding ``.headrace``), else the server's host:port."""
        return self._identity.name

    @property
    def subscription_id(self) -> str:
        return self._identity.subscription_id

    @property
    def resource_group(self) -> str:
        return self._identity.resource_group

    @property
    def location(self) -> str:
        return self._identity.location

    def get_details(self) -> dict[str, Any]:
        """Azure ML's workspace details (camelCase keys), with ``home`` or ``url`` for where it lives."""
        ident = self._identity
        return {
            "id": f"/subscriptions/{ident.subscription_id}/resourceGroups/{ident.resource_group}"
                  f"/providers/Microsoft.MachineLearningServices/workspaces/{ident.name}",
            "name": ident.name, "friendlyName": ident.name, "location": ident.location,
            "resourceGroup": ident.resource_group, "subscriptionId": ident.subscription_id,
            "type": "Microsoft.MachineLearningServices/workspaces", "tags": {}, "description": "",
            "sku": "headrace", "home": None if self.home is None else str(self.home), "url": self.url,
        }

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

    def get_mlflow_tracking_uri(self, set_token: bool = True) -> str:
        """The URI that points the ``mlflow`` client at this workspace.

        A local workspace gives ``headrace:///path/to/home`` (headrace's tracking-store plugin: no server
        needed); a remote one its server's address, whose MLflow API needs the workspace's token in
        ``MLFLOW_TRACKING_TOKEN``: with ``set_token``, it is put there unless that variable is set already.

        Example:
            >>> mlflow.set_tracking_uri(ws.get_mlflow_tracking_uri())  # doctest: +SKIP
            >>> mlflow.set_experiment("training"); mlflow.log_metric("loss", 0.1)  # doctest: +SKIP
        """
        if not self.is_remote:
            return f"headrace://{Path(self.home).resolve().as_posix()}"  # type: ignore[arg-type]
        token = getattr(getattr(self._backend, "client", None), "token", None)
        if set_token and token and "MLFLOW_TRACKING_TOKEN" not in os.environ:
            os.environ["MLFLOW_TRACKING_TOKEN"] = token
        return str(self.url)

    def get_default_datastore(self):
        """The workspace's default datastore (``workspaceblobstore`` unless ``set_default_datastore`` chose another)."""
        from headrace.sdk.datastore import Datastore

        return Datastore(self, self._backend.default_datastore_name())

    def set_default_datastore(self, name: str) -> None:
        """Make a registered datastore the default: pipelines submitted afterwards put their ``PipelineData``
        there (runs already submitted keep theirs).

        Raises:
            NotFoundError: no such datastore; the message lists the registered ones.
        """
        self._backend.set_default_datastore(name)

    @property
    def datastores(self) -> dict[str, Any]:
        """Registered datastores by name."""
        from headrace.sdk.datastore import Datastore

        return {r.name: Datastore(self, r.name) for r in self._backend.list_datastores()}

    @property
    def experiments(self) -> dict[str, Any]:
        """Experiments by name."""
        from headrace.sdk.experiment import Experiment

        return {e.name: Experiment(self, e.name, _create=False) for e in self._backend.list_experiments()}

    @property
    def compute_targets(self) -> dict[str, Any]:
        """Compute targets by name ("local" always among them)."""
        from headrace.sdk.compute import ComputeTarget

        return {t.name: t for t in ComputeTarget.list(self)}

    @property
    def environments(self) -> dict[str, Any]:
        """Registered environments by name: the latest version of each (``Environment.list``)."""
        from headrace.sdk.environments.environment import Environment

        return Environment.list(self)

    @property
    def models(self) -> dict[str, Any]:
        """Registered models by name: the latest version of each."""
        from headrace.sdk.models import Model

        return {m.name: m for m in Model.list(self, latest=True)}

    # Called by core.Pipeline.validate (duck-typed, like the two below).
    def _compute_target_names(self) -> list[str]:
        return [r.name for r in self._backend.list_compute_targets()]

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

