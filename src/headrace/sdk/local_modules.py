"""The module calls of the local backend (``sdk/modules.py`` uses them through ``workspace._backend``)."""

from __future__ import annotations

from typing import Any

from headrace.services import modules
from headrace.services.bundle import Services
from headrace.storage.module_records import ModuleRecord, ModuleVersionRecord

__all__ = ["LocalModules"]


class LocalModules:
    """Mixed into ``LocalBackend``: modules and their versions, served by the services in this process."""

    svc: Services

    def create_module(self, name: str, description: str | None) -> ModuleRecord:
        return modules.create_module(self.svc, name, description)

    def get_module(self, module_id: str | None = None, name: str | None = None) -> ModuleRecord:
        return modules.get_module(self.svc, module_id, name)

    def list_modules(self) -> list[ModuleRecord]:
        return self.svc.store.list_modules()

    def update_module(self, module_id: str, **changes: Any) -> ModuleRecord:
        return modules.update_module(self.svc, module_id, **changes)

    def list_module_versions(self, module_id: str) -> list[ModuleVersionRecord]:
        return self.svc.store.list_module_versions(module_id)

    def get_module_version(self, module_id: str, version: str) -> ModuleVersionRecord:
        return self.svc.store.get_module_version(module_id, version)

    def publish_module_version(self, module_id: str, source_directory: str, script_name: str,
                               **options: Any) -> ModuleVersionRecord:
        self.svc.store.get_module(module_id)  # an unknown module fails before the folder is archived
        snapshot = modules.snapshot_source(self.svc, source_directory, script_name)
        return modules.publish_version(self.svc, module_id, script_name=script_name, snapshot=snapshot,
                                       source_directory=source_directory, **options)

    def update_module_version(self, module_id: str, version: str, **changes: Any) -> ModuleVersionRecord:
        return modules.update_version(self.svc, module_id, version, **changes)
