"""What a module version declares: its input and output ports and its parameters (Azure ML v1's
``InputPortDef`` / ``OutputPortDef``), and which version a ``ModuleStep`` runs when none is named.

Pure definitions: the SDK (``sdk/modules.py``) stores them as a version's ``interface`` JSON::

    {"inputs": [{"name": "in1", "is_optional": False, ...}], "outputs": [{"name": "out_sum", ...}],
     "params": {"initialNum": 12}}
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from headrace.errors import DefinitionError

__all__ = ["ACTIVE", "DEPRECATED", "DISABLED", "STATUSES", "InputPortDef", "ModuleInterface", "OutputPortDef",
           "VersionInfo", "interface_json", "pick_version"]

ACTIVE, DEPRECATED, DISABLED = "Active", "Deprecated", "Disabled"
STATUSES = (ACTIVE, DEPRECATED, DISABLED)
"""A module's or a module version's status, as Azure ML spells them."""

_NUMERIC = re.compile(r"\d+(\.\d+)*")


class _Port:
    _fields: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, f"_{name}") for name in self._fields}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Any:
        return cls(**{k: v for k, v in data.items() if k in cls._fields})

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.to_json() == other.to_json()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self._name!r})"  # type: ignore[attr-defined]


class InputPortDef(_Port):
    """An input a module version reads (Azure ML's constructor and properties).

    Only ``name`` and ``is_optional`` change what headrace does: a ``ModuleStep`` must wire every input that
    is not optional. The rest (data types, modes, labels) is recorded in the version's interface.
    """

    _fields = ("name", "data_types", "default_datastore_mode", "default_path_on_compute", "is_optional",
               "default_overwrite", "default_data_reference_name", "is_resource", "label",
               "additional_transformations")

    def __init__(self, name: str, data_types: list[str] | None = None, default_datastore_mode: str | None = None,
                 default_path_on_compute: str | None = None, is_optional: bool = False,
                 default_overwrite: bool | None = None, default_data_reference_name: str | None = None,
                 is_resource: bool = False, label: str | None = None, additional_transformations: Any = None,
                 **kwargs: Any):
        _check_name("input port", name)
        self._name = name
        self._data_types = list(data_types) if data_types is not None else ["AnyFile", "AnyDirectory"]
        self._default_datastore_mode = default_datastore_mode
        self._default_path_on_compute = default_path_on_compute
        self._is_optional = bool(is_optional)
        self._default_overwrite = default_overwrite
        self._default_data_reference_name = default_data_reference_name
        self._is_resource = bool(is_resource)
        self._label = label
        self._additional_transformations = additional_transformations

    name = property(lambda self: self._name)
    data_types = property(lambda self: list(self._data_types))
    default_datastore_mode = property(lambda self: self._default_datastore_mode)
    default_path_on_compute = property(lambda self: self._default_path_on_compute)
    is_optional = property(lambda self: self._is_optional)
    default_overwrite = property(lambda self: self._default_overwrite)
    default_data_reference_name = property(lambda self: self._default_data_reference_name)
    is_resource = property(lambda self: self._is_resource)
    label = property(lambda self: self._label)
    additional_transformations = property(lambda self: self._additional_transformations)


class OutputPortDef(_Port):
    """An output a module version writes (Azure ML's constructor and properties); recorded in the interface."""

    _fields = ("name", "default_datastore_name", "default_datastore_mode", "default_path_on_compute",
               "is_directory", "data_type", "default_overwrite", "training_output", "label")

    def __init__(self, name: str, default_datastore_name: str | None = None, default_datastore_mode: str | None = None,
                 default_path_on_compute: str | None = None, is_directory: bool = False, data_type: str | None = None,
                 default_overwrite: bool | None = None, training_output: Any = None, label: str | None = None):
        _check_name("output port", name)
        self._name = name
        self._default_datastore_name = default_datastore_name
        self._default_datastore_mode = default_datastore_mode
        self._default_path_on_compute = default_path_on_compute
        self._is_directory = bool(is_directory)
        self._data_type = data_type or ("AnyDirectory" if is_directory else "AnyFile")
        self._default_overwrite = default_overwrite
        # A TrainingOutput is kept by its fields only: the interface is JSON.
        self._training_output = getattr(training_output, "__dict__", training_output)
        self._label = label

    name = property(lambda self: self._name)
    default_datastore_name = property(lambda self: self._default_datastore_name)
    default_datastore_mode = property(lambda self: self._default_datastore_mode)
    default_path_on_compute = property(lambda self: self._default_path_on_compute)
    is_directory = property(lambda self: self._is_directory)
    data_type = property(lambda self: self._data_type)
    default_overwrite = property(lambda self: self._default_overwrite)
    training_output = property(lambda self: self._training_output)
    label = property(lambda self: self._label)


def _check_name(kind: str, name: Any) -> None:
    if not isinstance(name, str) or not name.strip():
        raise DefinitionError([f"{kind} name {name!r} is invalid; give it a non-empty str name"])


@dataclass(frozen=True)
class ModuleInterface:
    """A module version's ports and parameters (``ModuleVersion.interface``)."""

    inputs: list[InputPortDef] = field(default_factory=list)
    outputs: list[OutputPortDef] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModuleInterface:
        return cls([InputPortDef.from_json(p) for p in data.get("inputs", [])],
                   [OutputPortDef.from_json(p) for p in data.get("outputs", [])], dict(data.get("params") or {}))

    def to_json(self) -> dict[str, Any]:
        return interface_json(self.inputs, self.outputs, self.params)


def interface_json(inputs: Iterable[Any] | None, outputs: Iterable[Any] | None,
                   params: Mapping[str, Any] | None) -> dict[str, Any]:
    """The interface JSON of ports and parameters, checked.

    Raises:
        DefinitionError: a port that is not an ``InputPortDef`` / ``OutputPortDef``, a port name used twice, or
            a parameter whose default is not a str, int, float or bool (every problem listed).
    """
    problems = []
    ins, outs = list(inputs or []), list(outputs or [])
    for kind, ports, cls in (("inputs", ins, InputPortDef), ("outputs", outs, OutputPortDef)):
        for port in ports:
            if not isinstance(port, cls):
                problems.append(f"{kind} must hold {cls.__name__} objects, not {type(port).__name__}")
    names = [p.name for p in ins + outs if isinstance(p, _Port)]
    problems += [f"port name {n!r} is used twice; give every input and output its own name"
                 for n in sorted({n for n in names if names.count(n) > 1})]
    for name, value in (params or {}).items():
        if not isinstance(value, (str, int, float, bool)):
            problems.append(f"param {name!r}: its default must be a str, int, float or bool, "
                            f"not {type(value).__name__}")
    if problems:
        raise DefinitionError(problems)
    return {"inputs": [p.to_json() for p in ins], "outputs": [p.to_json() for p in outs],
            "params": {str(k): v for k, v in (params or {}).items()}}


@dataclass(frozen=True)
class VersionInfo:
    """What choosing a version looks at."""

    version: str
    status: str
    created_at: datetime


def pick_version(module: str, versions: Sequence[VersionInfo], default_version: str | None,
                 version: str | None = None) -> str:
    """The version a ``ModuleStep`` runs: ``version`` if given; else the module's default; else the highest
    of the Active versions when every one is dotted numbers (``"1.10" > "1.9"``); else the newest Active one.

    Raises:
        DefinitionError: ``version`` is not one of the module's, or no version can be chosen (both named).
    """
    known = {v.version for v in versions}
    if version is not None:
        if str(version) not in known:
            raise DefinitionError([f"module {module!r} has no version {str(version)!r}; it has "
                                   f"{sorted(known) or 'none'}"])
        return str(version)
    if default_version is not None and default_version in known:
        return default_version
    active = [v for v in versions if v.status == ACTIVE]
    if not active:
        raise DefinitionError([f"module {module!r} has no version a step can run: "
                               + ("publish one" if not versions else "none is Active; enable one or name it")])
    if all(_NUMERIC.fullmatch(v.version) for v in active):
        return max(active, key=lambda v: tuple(int(p) for p in v.version.split("."))).version
    return max(active, key=lambda v: v.created_at).version
