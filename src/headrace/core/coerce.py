"""Submitted parameter values (often strings from REST or the CLI) converted to their declared types."""

from __future__ import annotations

from typing import Any

from headrace.core.params import PARAMETER_TYPES, DataPath

__all__ = ["coerce_value", "parse_float", "parse_int"]

_BOOL_STRINGS = {"true": True, "false": False, "1": True, "0": False}

def coerce_value(type_name: str, value: Any) -> Any:
    """Convert a submitted value (often a string from REST or the CLI) to a parameter's declared type.

    Args:
        type_name: one of `PARAMETER_TYPES`.
        value: the submitted value. Strings are parsed; already-typed values are checked. A bool accepts
            "true"/"false"/"1"/"0" (any case). A datapath accepts a `DataPath`, a dict with
            `datastore` and `path` (or the REST `DataStoreName`/`RelativePath`), or "datastore:path".

    Returns:
        The converted value; a datapath is returned in its graph form `{"datastore": ..., "path": ...}`.

    Raises:
        ValueError: the value cannot be converted; the message says what was expected.

    Example:
        >>> coerce_value("bool", "TRUE"), coerce_value("int", "20")
        (True, 20)
    """
    if type_name == "bool":
        return _to_bool(value)
    if type_name == "int":
        return _to_int(value)
    if type_name == "float":
        return _to_float(value)
    if type_name == "str":
        if isinstance(value, (str, int, float)):
            return value if isinstance(value, str) else str(value)
        raise ValueError(f"expected a string, got {type(value).__name__} {value!r}")
    if type_name == "datapath":
        return _to_datapath(value)
    raise ValueError(f"unknown parameter type {type_name!r}; expected one of {', '.join(PARAMETER_TYPES)}")


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _BOOL_STRINGS:
        return _BOOL_STRINGS[value.strip().lower()]
    raise ValueError(f"expected a bool (true, false, 1 or 0), got {value!r}")


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"expected an integer, got the bool {value!r}")
    number = parse_int(value)
    if number is None:
        raise ValueError(f"expected an integer, got {value!r}")
    return number


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got the bool {value!r}")
    number = parse_float(value)
    if number is None:
        raise ValueError(f"expected a number, got {value!r}")
    return number


def parse_int(value: Any) -> int | None:
    """``value`` as an int: an int, a float with no fraction, or integer text; None when it is none of them.

    Bools are refused (None), so that ``True`` never passes for 1. Shared with the flow inputs
    (``headrace.flows.values``), which word their errors differently.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    return None


def parse_float(value: Any) -> float | None:
    """``value`` as a float: an int, a float, or number text (``"nan"`` and ``"inf"`` too); None otherwise.

    Bools are refused (None), as in ``parse_int``.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    return None


def _to_datapath(value: Any) -> dict[str, str]:
    if isinstance(value, DataPath):
        return value.to_json()
    if isinstance(value, dict):
        store = value.get("datastore", value.get("DataStoreName"))
        path = value.get("path", value.get("RelativePath", ""))
        if isinstance(store, str) and store and isinstance(path, str):
            return {"datastore": store, "path": path}
    if isinstance(value, str) and ":" in value:
        store, _, path = value.partition(":")
        if store:
            return {"datastore": store, "path": path}
    raise ValueError(
        f"expected a data path (a DataPath, {{'datastore': ..., 'path': ...}} or 'datastore:path'), got {value!r}"
    )
