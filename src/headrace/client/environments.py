"""The environment calls of ``HeadraceClient`` (``/api/v1/environments``)."""

from __future__ import annotations

from typing import Any

from headrace.client.session import ApiSession, seg
from headrace.schemas.environments import EnvironmentBuildRead, EnvironmentList, EnvironmentRead


class EnvironmentCalls(ApiSession):
    """Registered environments and builds on the server."""

    def list_environments(self, name: str | None = None, all_versions: bool = False) -> list[EnvironmentRead]:
        params: dict[str, Any] = {"all_versions": all_versions}
        if name is not None:
            params["name"] = name
        return self._model(EnvironmentList, "GET", "/environments", params=params).Value

    def get_environment(self, name: str, version: int | str | None = None) -> EnvironmentRead:
        params = {} if version is None else {"version": str(version)}
        return self._model(EnvironmentRead, "GET", f"/environments/{seg(name)}", params=params)

    def register_environment(self, name: str, spec: dict[str, Any], description: str | None = None) -> EnvironmentRead:
        # Registration is idempotent by content: a retry finds the version the first attempt made.
        return self._model(EnvironmentRead, "POST", f"/environments/{seg(name)}",
                           json_body={"Spec": spec, "Description": description}, idempotent=True)

    def build_environment(self, name: str, version: int | str | None = None) -> EnvironmentBuildRead:
        params = {} if version is None else {"version": str(version)}
        return self._model(EnvironmentBuildRead, "POST", f"/environments/{seg(name)}/build", params=params)
