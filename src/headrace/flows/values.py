"""Typed values of flow inputs and tool parameters: conversion from text and JSON, JSON-safe copies."""

from __future__ import annotations

import json
import math
from typing import Any

from headrace.core.coerce import parse_float, parse_int

__all__ = ["TYPES", "convert", "json_safe"]

#: The input types of ``flow.yaml``, with the Python type each converts to.
TYPES: dict[str, type] = {"string": str, "int": int, "double": float, "bool": bool, "list": list, "object": dict}

_BOOLS = {"true": True, "false": False}


def convert(kind: str, value: Any) -> Any:
    """Convert a value to a flow type: ``"2"`` -> 2 for int, ``"true"`` -> True, JSON text -> list or dict.

    Args:
        kind: one of ``TYPES``.
        value: the value (often text from a command line, a query string or a CSV column).

    Returns:
        The converted value.

    Raises:
        ValueError: the value does not fit; the message says what was expected.
    """
    if kind == "string":
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise ValueError(f"expected a string, got {_show(value)}")
    if kind == "int":
        if isinstance(value, bool):
            raise ValueError(f"expected an integer, got a boolean ({value})")
        number = parse_int(value)
        if number is None:
            raise ValueError(f"expected an integer, got {_show(value)}")
        return number
    if kind == "double":
        number = parse_float(value)
        # Text must name a finite number; a float value passes as it is.
        if number is None or (isinstance(value, str) and not math.isfinite(number)):
            raise ValueError(f"expected a number, got {_show(value)}")
        return number
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _BOOLS:
            return _BOOLS[value.strip().lower()]
        raise ValueError(f"expected true or false, got {_show(value)}")
    if kind in ("list", "object"):
        want = list if kind == "list" else dict
        if isinstance(value, tuple):
            value = list(value)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"expected a JSON {'array' if want is list else 'object'}, got text that is "
                                 f"not JSON ({exc.msg} at character {exc.pos})") from None
        if isinstance(value, want):
            return value
        raise ValueError(f"expected a {'list' if want is list else 'JSON object'}, got {_show(value)}")
    raise ValueError(f"unknown type {kind!r}; use one of {', '.join(TYPES)}")


def _show(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


def json_safe(value: Any, _depth: int = 0) -> Any:
    """A JSON-serialisable copy of a value: containers walked, other objects by ``repr`` (strings kept whole)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if _depth > 50:
        return repr(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v, _depth + 1) for v in value]
    if hasattr(value, "to_dict"):
        return json_safe(value.to_dict(), _depth + 1)
    return repr(value)
