"""A flow's ``environment_variables``: set in the process before its tools run, as prompt flow does.

A value may reference a field of a connection, ``${my_conn.api_key}`` (prompt flow's spelling), which is read
from the connection the runner finds by that name: ``api_key``, ``api_base`` (or ``base_url``), ``api_type``,
``api_version``, and for a ``custom`` connection any of its configs or secrets.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, MutableMapping
from typing import Any

from headrace.errors import FlowError, HeadraceError
from headrace.flows.connections import Connection, connection_field
from headrace.flows.model import FlowSpec

__all__ = ["apply_environment"]

_REF = re.compile(r"^\$\{\s*([A-Za-z0-9][\w.-]*)\.(\w+)\s*\}$")


def apply_environment(spec: FlowSpec, lookup: Callable[[str], Connection] | None,
                      environ: MutableMapping[str, str] | None = None) -> None:
    """Set ``spec.environment_variables`` in ``environ`` (default ``os.environ``).

    Args:
        spec: the flow.
        lookup: finds a connection by name (the LLM runner's), for ``${conn.field}`` values.
        environ: where to set them.

    Raises:
        FlowError: a referenced connection or field does not exist (the variable is named).
    """
    target: MutableMapping[str, str] = os.environ if environ is None else environ
    for name, value in spec.environment_variables.items():
        target[name] = _value(name, value, lookup)


def _value(name: str, value: str, lookup: Callable[[str], Connection] | None) -> str:
    match = _REF.match(value)
    if not match:
        return value
    if lookup is None:
        raise FlowError(f"environment variable {name}: {value} reads a connection, but no connections are "
                        "available here (run the flow with the headrace CLI or server, or pass llm=...)")
    try:
        conn = lookup(match[1])
    except HeadraceError as exc:
        raise FlowError(f"environment variable {name}: {exc}") from exc
    found: Any = connection_field(conn, match[2])
    if found is None:
        raise FlowError(f"environment variable {name}: connection {match[1]!r} has no field {match[2]!r}")
    return str(found)
