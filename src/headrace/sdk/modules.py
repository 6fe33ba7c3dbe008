"""``Module`` and ``ModuleVersion``: scripts published once and run by ``ModuleStep`` (Azure ML v1's API).

A module is a named family of versions; a version is a script with its source folder snapshotted when it is
published (later edits of the folder do not change it), its ports (``InputPortDef`` / ``OutputPortDef``) and
default parameters. Works the same on an embedded workspace and a remote one (``workspace._backend``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from headrace.core.module_ports import (
    ACTIVE,
    DEPRECATED,
    DISABLED,
    ModuleInterface,
    VersionInfo,
    interface_json,
    pick_version,
)
from headrace.errors import ConfigError, DefinitionError
from headrace.storage.module_records import ModuleRecord, ModuleVersionRecord

__all__ = ["Module", "ModuleVersion", "ModuleVersionDescriptor"]


class ModuleVersionDescriptor:
    """A version's name and id, as ``Module.module_version_list()`` lists them."""

    def __init__(self, version: str, module_version_id: str):
        self.version = version
        self.module_version_id = module_version_id

    def __repr__(self) -> str:
        return f"ModuleVersionDescriptor(Version={self.version!r}, ModuleVersionId={self.module_version_id!r})"


def _version_id(record: ModuleVersionRecord) -> str:
    return f"{record.module_id}/{record.version}"


class Module:
    """A named family of module versions in a workspace.

    Example:
        >>> module = Module.create(ws, name="AddAndMultiply", description="adds and multiplies")
        >>> v1 = module.publish_python_script("calc.py", "first", inputs=[], outputs=[OutputPortDef("out_sum")],
        ...                                   params={"n": 12}, version="1", source_directory="./calc")
        >>> module.resolve().version
        '1'
    """

    def __init__(self, workspace: Any, record: ModuleRecord, versions: list[ModuleVersionRecord] | None = None):
        self._workspace = workspace
        self._record = record
        self._versions = versions

    id = property(lambda self: self._record.id)
    name = property(lambda self: self._record.name)
    description = property(lambda self: self._record.description)
    status = property(lambda self: self._record.status)
    default_version = property(lambda self: self._record.default_version)

    @property
    def _backend(self) -> Any:
        return self._workspace._backend

    # -- create and look up ------------------------------------------------------------------
    @staticmethod
    def create(workspace: Any, name: str, description: str | None, _workflow_provider: Any = None) -> Module:
        """Raises: AlreadyExistsError (a module has this name), ConfigError (an invalid name)."""
        return Module(workspace, workspace._backend.create_module(name, description), [])

    @staticmethod
    def get(workspace: Any, module_id: str | None = None, name: str | None = None,
            _workflow_provider: Any = None) -> Module:
        """By id or by name. Raises: ConfigError (neither given), NotFoundError."""
        if module_id is None and name is None:
            raise ConfigError("Module.get needs a module_id or a name")
        return Module(workspace, workspace._backend.get_module(module_id=module_id, name=None if module_id else name))

    @staticmethod
    def list(workspace: Any) -> list[Module]:
        """The workspace's modules, newest first (headrace's; Azure ML has no such call)."""
        return [Module(workspace, r) for r in workspace._backend.list_modules()]

    @staticmethod
    def get_versions(workspace: Any, name: str, _workflow_provider: Any = None) -> list[ModuleVersionDescriptor]:
        """The versions of the module called ``name``. Raises: NotFoundError."""
        return Module.get(workspace, name=name).module_version_list()

    def _refresh(self) -> list[ModuleVersionRecord]:
        # Versions may be published from elsewhere: read them (and the default) each time they matter.
        self._record = self._backend.get_module(module_id=self.id)
        self._versions = self._backend.list_module_versions(self.id)
        return self._versions

    def module_version_list(self) -> list[ModuleVersionDescriptor]:
        """The module's versions, in the order they were published."""
        return [ModuleVersionDescriptor(v.version, _version_id(v)) for v in self._refresh()]

    # -- publish -----------------------------------------------------------------------------
    def publish_python_script(self, script_name: str, description: str | None, inputs: list[Any] | None,
                              outputs: list[Any] | None, params: Mapping[str, Any] | None = None,
                              create_sequencing_ports: bool = True, version: str | None = None,
                              is_default: bool = False, source_directory: str | os.PathLike[str] | None = None,
                              hash_paths: Any = None, category: str | None = None, arguments: Any = None,
                              runconfig: Any = None) -> ModuleVersion:
        """Publish ``script_name`` from ``source_directory`` (default: the working directory) as a new version.

        The folder is snapshotted now. ``params`` are the version's parameters with their defaults (given to
        the script as ``AML_PARAMETER_<name>``). ``create_sequencing_ports``, ``hash_paths``, ``category``,
        ``arguments`` and ``runconfig`` are accepted for Azure ML code and not used (a step gives its own).

        Raises:
            DefinitionError: the script is not in the folder, a port is not an ``InputPortDef`` /
                ``OutputPortDef`` or is named twice, or a parameter default is not a plain value.
            AlreadyExistsError: the module has this version.
        """
        folder = os.path.abspath(os.fspath(source_directory if source_directory is not None else os.getcwd()))
        interface = interface_json(inputs, outputs, params)
        record = self._backend.publish_module_version(
            self.id, folder, script_name, version=None if version is None else str(version),
            description=description, interface=interface, is_default=bool(is_default))
        self._refresh()
        return ModuleVersion(self._workspace, record, self.name)

    def publish(self, description: str | None, execution_type: str, inputs: list[Any] | None,
                outputs: list[Any] | None, param_defs: Any = None, create_sequencing_ports: bool = True,
                version: str | None = None, is_default: bool = False, content_path: str | None = None,
                hash_paths: Any = None, category: str | None = None, arguments: Any = None,
                runconfig: Any = None) -> ModuleVersion:
        """Azure ML's general form; headrace runs Python scripts only (``execution_type="esCloud"``), whose
        script is the ``Script`` parameter of ``param_defs`` and whose folder is ``content_path``.

        Raises:
            ConfigError: another execution type, or no ``Script`` parameter.
        """
        if execution_type != "esCloud":
            raise ConfigError(f"execution_type {execution_type!r} is not run by headrace; publish Python scripts "
                              "(execution_type='esCloud' or publish_python_script)")
        defaults = _param_defaults(param_defs)
        script = defaults.pop("Script", None)
        if not isinstance(script, str):
            raise ConfigError("param_defs must hold a 'Script' parameter naming the script to run")
        return self.publish_python_script(script, description, inputs, outputs, defaults, version=version,
                                          is_default=is_default, source_directory=content_path)

    # -- choose a version --------------------------------------------------------------------
    def resolve(self, version: str | None = None) -> ModuleVersion:
        """``version`` if given, else the default version, else the highest numbered Active version (when all
        are dotted numbers), else the newest Active one.

        Raises:
            DefinitionError: ``version`` is not the module's, or no version can be chosen, or the module is
                Disabled (none of its versions may run).
        """
        versions = self._refresh()
        if self._record.status == DISABLED:
            raise DefinitionError([f"module {self.name!r} is Disabled: enable it (module.enable()) to use its "
                                   "versions"])
        chosen = pick_version(self.name, [VersionInfo(v.version, v.status, v.created_at) for v in versions],
                              self.default_version, None if version is None else str(version))
        return ModuleVersion(self._workspace, next(v for v in versions if v.version == chosen), self.name)

    def get_default_version(self) -> str | None:
        self._refresh()
        return self._record.default_version

    def get_default(self) -> ModuleVersion | None:
        """The default version, or None when none is set."""
        self._refresh()
        if self.default_version is None:
            return None
        return ModuleVersion(self._workspace, self._backend.get_module_version(self.id, self.default_version),
                             self.name)

    def set_default_version(self, version_id: str) -> None:
        """Raises: ConfigError (None), NotFoundError (not one of the module's versions)."""
        if version_id is None:
            raise ConfigError("no version was given to make the default")
        self._record = self._backend.update_module(self.id, default_version=str(version_id))

    # -- change ------------------------------------------------------------------------------
    def enable(self) -> None:
        self._record = self._backend.update_module(self.id, status=ACTIVE)

    def disable(self) -> None:
        self._record = self._backend.update_module(self.id, status=DISABLED)

    def deprecate(self) -> None:
        self._record = self._backend.update_module(self.id, status=DEPRECATED)

    def set_name(self, name: str) -> None:
        if name is None:
            raise ConfigError("no name was given")
        self._record = self._backend.update_module(self.id, name=name)

    def set_description(self, description: str) -> None:
        if description is None:
            raise ConfigError("no description was given")
        self._record = self._backend.update_module(self.id, description=description)

    def __repr__(self) -> str:
        return f"Module(Name={self.name!r}, Id={self.id!r}, Status={self.status!r}, Default={self.default_version!r})"


def _param_defaults(param_defs: Any) -> dict[str, Any]:
    if param_defs is None:
        return {}
    if isinstance(param_defs, Mapping):
        return dict(param_defs)
    found = {}
    for p in param_defs:
        name, value = (p.get("name"), p.get("default_value")) if isinstance(p, Mapping) else \
            (getattr(p, "name", None), getattr(p, "default_value", None))
        found[name] = value
    return found


class ModuleVersion:
    """One published version of a module: its script, frozen source, ports and parameters."""

    def __init__(self, workspace: Any, record: ModuleVersionRecord, module_name: str | None = None):
        self._workspace = workspace
        self._record = record
        self._module_name = module_name

    status = property(lambda self: self._record.status)
    module_id = property(lambda self: self._record.module_id)
    description = property(lambda self: self._record.description)
    version = property(lambda self: self._record.version)
    module_version_id = property(lambda self: _version_id(self._record))
    script_name = property(lambda self: self._record.script_name)
    snapshot = property(lambda self: self._record.snapshot)
    category = property(lambda self: None)
    runconfig = property(lambda self: None)

    @property
    def interface(self) -> ModuleInterface:
        """The version's ports and parameters."""
        return ModuleInterface.from_json(self._record.interface)

    @staticmethod
    def get(workspace: Any, module_version_id: str | None = None, _workflow_provider: Any = None) -> ModuleVersion:
        """By ``module_version_id`` (``"<module id>/<version>"``). Raises: ConfigError, NotFoundError."""
        module_id, sep, version = str(module_version_id or "").rpartition("/")
        if not sep or not module_id or not version:
            raise ConfigError(f"module_version_id {module_version_id!r} must be '<module id>/<version>'")
        return ModuleVersion(workspace, workspace._backend.get_module_version(module_id, version))

    def module(self, _workflow_provider: Any = None) -> Module:
        """The module this version belongs to."""
        return Module(self._workspace, self._workspace._backend.get_module(module_id=self.module_id))

    def set_description(self, description: str) -> None:
        self._update(description=description)

    def enable(self) -> None:
        self._update(status=ACTIVE)

    def disable(self) -> None:
        self._update(status=DISABLED)

    def deprecate(self) -> None:
        self._update(status=DEPRECATED)

    def _update(self, **changes: Any) -> None:
        self._record = self._workspace._backend.update_module_version(self.module_id, self.version, **changes)

    def _headrace_module_version(self) -> dict[str, Any]:
        """What ``core.module_step.ModuleStep`` compiles (the definition layer never imports the SDK)."""
        if self._module_name is None:
            self._module_name = self.module().name
        r = self._record
        if not r.snapshot:
            raise DefinitionError([f"module {self._module_name!r} version {r.version!r} has no source snapshot"])
        return {"module": self._module_name, "module_id": r.module_id, "version": r.version, "status": r.status,
                "script_name": r.script_name, "snapshot": r.snapshot, "source_directory": r.source_directory,
                "interface": dict(r.interface)}

    def __repr__(self) -> str:
        return (f"ModuleVersion(Version={self.version!r}, ModuleId={self.module_id!r}, Status={self.status!r}, "
                f"Description={self.description!r})")
