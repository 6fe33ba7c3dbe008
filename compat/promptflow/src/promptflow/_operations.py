"""``PFClient().runs`` and ``PFClient().connections``: prompt flow's operation groups over the workspace."""

from __future__ import annotations

from typing import Any

__all__ = ["ConnectionOperations", "RunOperations"]


class RunOperations:
    """``create_or_update`` (submit a ``Run`` and wait), ``stream`` (wait, printing progress), ``get``."""

    def __init__(self, client: Any):
        self._client = client

    def create_or_update(self, run: Any, **_: Any) -> Any:
        """Submit ``run`` (a ``promptflow.entities.Run``) and wait for it; returns the headrace run."""
        return self._client.run(**run._submit_args())

    def stream(self, run: Any, raise_on_error: bool = True, **_: Any) -> Any:
        """Wait for ``run`` (a run or its id), printing its progress; raises if it failed (as prompt flow)."""
        found = self._client._run(run)
        found.wait_for_completion(show_output=True, raise_on_error=raise_on_error)
        return found

    def get(self, name: str) -> Any:
        """The run with that id."""
        return self._client._run(name)


class ConnectionOperations:
    """``get``, ``list``, ``create_or_update`` and ``delete`` on the workspace's stored connections."""

    def __init__(self, client: Any):
        self._client = client

    def _svc(self) -> Any:
        return self._client.workspace._backend.svc

    def get(self, name: str, **_: Any) -> Any:
        """The stored connection as prompt flow's class for its type.

        Raises: ``headrace.errors.NotFoundError`` naming the stored ones."""
        from headrace.services.connections import load_connection
        from promptflow.connections import as_promptflow

        return as_promptflow(load_connection(self._svc(), name))

    def list(self, **_: Any) -> list[Any]:
        from headrace.services.connections import list_connections

        return [self.get(view.name) for view in list_connections(self._svc())]

    def create_or_update(self, connection: Any, **_: Any) -> Any:
        """Store ``connection`` (its keys encrypted) under its name; returns it as stored."""
        from headrace.services.connections import create_connection

        if not getattr(connection, "name", None):
            raise ValueError(f"{type(connection).__name__}: give it a name= to store it")
        conn = connection.to_headrace_stored() if hasattr(connection, "to_headrace_stored") else \
            connection.to_headrace()
        create_connection(self._svc(), connection.name, type=conn.type, base_url=conn.base_url,
                          api_key=conn.api_key or None, api_version=conn.api_version, extra=conn.extra or None,
                          secrets=conn.secrets or None, replace=True)
        return self.get(connection.name)

    def delete(self, name: str, **_: Any) -> None:
        from headrace.services.connections import delete_connection

        delete_connection(self._svc(), name)
