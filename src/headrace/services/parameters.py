"""Resolving submitted parameter values against a pipeline's declared parameters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from headrace.core.coerce import coerce_value
from headrace.errors import HeadraceError, ParameterError, ParameterTypeError, UnknownParameterError
from headrace.services.bundle import Services
from headrace.services.datastores import get_datastore

_TYPE_NAMES = {"int": "an integer", "float": "a number", "bool": "a boolean", "str": "a string",
               "datapath": "a data path ({DataStoreName, RelativePath})",
               "dataset": 'a dataset ({"SavedDataSetReference": {"Id"}} or {"DataSetReference": {"Name", "Version"}})'}


def resolve_parameters(
    svc: Services, declared: Mapping[str, Mapping[str, Any]], overrides: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Every declared parameter's value for a run: the override converted to its type, else the default.

    Args:
        declared: the graph's ``parameters`` section (name -> {type, default}).
        overrides: submitted values: JSON scalars, strings (converted), or for data paths a
            ``DataPath``, ``{"DataStoreName", "RelativePath"}`` / ``{"datastore", "path"}``, or a
            relative path string on the default's datastore.

    Raises:
        ParameterError: unknown name (lists the valid ones) or a value of the wrong type (names
            the declared type).
    """
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        valid = ", ".join(sorted(declared)) or "(this pipeline has no parameters)"
        raise UnknownParameterError(
            f"unknown pipeline parameter {unknown[0]!r}; valid parameters: {valid}", parameter=unknown[0]
        )
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        if name in overrides:
            values[name] = convert(spec["type"], name, overrides[name], spec.get("default"))
        else:
            values[name] = spec.get("default")
        if spec["type"] == "datapath":
            _check_datapath(svc, name, values[name])
        elif spec["type"] == "dataset":
            values[name] = _pin_dataset(svc, name, values[name])
    return values


def _pin_dataset(svc: Services, name: str, value: Any) -> dict[str, Any]:
    from headrace.services import datasets

    try:
        return datasets.pin(svc, value)
    except HeadraceError as exc:
        raise ParameterError(f"parameter {name!r}: {exc}", parameter=name) from exc


def drop_unknown(declared: Mapping[str, Any], overrides: Mapping[str, Any] | None) -> tuple[dict[str, Any], str | None]:
    """(the overrides of declared parameters, a warning naming the others or None): the lenient
    reading of a submission, for servers set to ``unknown_parameters = "warn"``."""
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(declared))
    if not unknown:
        return overrides, None
    valid = ", ".join(sorted(declared)) or "(this pipeline has no parameters)"
    warning = (f"unknown pipeline parameter(s) ignored: {', '.join(repr(u) for u in unknown)}; "
               f"valid parameters: {valid}")
    return {k: v for k, v in overrides.items() if k not in unknown}, warning


def convert(type_name: str, name: str, value: Any, default: Any = None) -> Any:
    """Convert one submitted value to the declared type (``core.coerce.coerce_value`` does the work).

    Raises:
        ParameterError: the value does not fit the type; the message names the declared type.
    """
    if type_name == "dataset":
        from headrace.services import datasets

        if callable(getattr(value, "_headrace_dataset", None)):
            return value._headrace_dataset()
        try:
            return datasets.reference(value)
        except HeadraceError as exc:
            raise ParameterTypeError(f"parameter {name!r} expects {_TYPE_NAMES['dataset']}: {exc}",
                                     parameter=name) from None
    if type_name == "datapath":
        if isinstance(value, Mapping):  # REST keys are matched case-insensitively
            low = {str(k).lower(): v for k, v in value.items()}
            value = {"datastore": low.get("datastorename", low.get("datastore")),
                     "path": low.get("relativepath", low.get("path", ""))}
        elif isinstance(value, str) and ":" not in value and isinstance(default, Mapping):
            value = {"datastore": default["datastore"], "path": value}  # a path on the default's datastore
    try:
        return coerce_value(type_name, value)
    except ValueError as exc:
        raise ParameterTypeError(
            f"parameter {name!r} expects {_TYPE_NAMES.get(type_name, type_name)} (declared type {type_name}),"
            f" got {value!r}: {exc}",
            parameter=name,
        ) from None


def _check_datapath(svc: Services, name: str, value: Any) -> None:
    if not isinstance(value, Mapping):
        raise ParameterError(f"parameter {name!r} has no data path value", parameter=name)
    try:
        ds = get_datastore(svc, value["datastore"])
        ds.uri(value["path"])  # rejects paths that leave the datastore root
    except HeadraceError as exc:
        raise ParameterError(f"parameter {name!r}: {exc}", parameter=name) from exc
