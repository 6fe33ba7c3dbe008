"""The module calls of ``HeadraceClient`` (``/api/v1/modules``)."""

from __future__ import annotations

from headrace.client.session import ApiSession, seg
from headrace.schemas.modules import (
    ModuleCreate,
    ModuleList,
    ModuleRead,
    ModuleUpdate,
    ModuleVersionCreate,
    ModuleVersionList,
    ModuleVersionRead,
    ModuleVersionUpdate,
)


class ModuleCalls(ApiSession):
    """Modules and their versions (``ModuleStep``'s scripts)."""

    def create_module(self, body: ModuleCreate) -> ModuleRead:
        return self._model(ModuleRead, "POST", "/modules", json_body=self._body(body))

    def get_module(self, module_id: str) -> ModuleRead:
        return self._model(ModuleRead, "GET", f"/modules/{seg(module_id)}")

    def get_module_by_name(self, name: str) -> ModuleRead:
        return self._model(ModuleRead, "GET", f"/modules/by-name/{seg(name)}")

    def list_modules(self) -> list[ModuleRead]:
        return self._model(ModuleList, "GET", "/modules").Value

    def update_module(self, module_id: str, body: ModuleUpdate) -> ModuleRead:
        return self._model(ModuleRead, "PATCH", f"/modules/{seg(module_id)}", json_body=self._body(body))

    def list_module_versions(self, module_id: str) -> list[ModuleVersionRead]:
        return self._model(ModuleVersionList, "GET", f"/modules/{seg(module_id)}/versions").Value

    def create_module_version(self, module_id: str, body: ModuleVersionCreate) -> ModuleVersionRead:
        return self._model(ModuleVersionRead, "POST", f"/modules/{seg(module_id)}/versions",
                           json_body=self._body(body))

    def get_module_version(self, module_id: str, version: str) -> ModuleVersionRead:
        return self._model(ModuleVersionRead, "GET", f"/modules/{seg(module_id)}/versions/{seg(version)}")

    def update_module_version(self, module_id: str, version: str, body: ModuleVersionUpdate) -> ModuleVersionRead:
        return self._model(ModuleVersionRead, "PATCH", f"/modules/{seg(module_id)}/versions/{seg(version)}",
                           json_body=self._body(body))
