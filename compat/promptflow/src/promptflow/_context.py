"""``FlowContext``: per-call settings of a flow loaded with ``load_flow`` (prompt flow's flow-as-a-function).

``connections`` (``{node: {"connection": NAME or connection object, "deployment_name": ...}}``),
``overrides`` (``{"nodes.NODE.inputs.KEY": value}``) and ``variant`` (``${NODE.VARIANT_ID}``) change the
flow for the calls made with this context (``headrace.flows.overrides``); ``streaming`` makes the streamed
output (a chat flow's answer) a generator of text chunks.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["FlowContext"]


class FlowContext:
    """The settings applied when a loaded flow is called (see the module docstring)."""

    def __init__(self, *, connections: dict[str, Any] | None = None, variant: str | None = None,
                 overrides: dict[str, Any] | None = None, streaming: bool | None = None):
        self.connections = connections or {}
        self.variant = variant
        self.overrides = overrides or {}
        self.streaming = streaming

    def _to_dict(self) -> dict[str, Any]:
        return {"connections": self.connections, "variant": self.variant, "overrides": self.overrides,
                "streaming": self.streaming}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FlowContext) and self._to_dict() == other._to_dict()

    def __hash__(self) -> int:
        return hash(json.dumps(self._to_dict(), sort_keys=True, default=repr))

    def resolved(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(connections with every connection object replaced by a name, {name: headrace Connection} for
        those objects), so the flow names them and the runner finds them without storing them."""
        names: dict[str, Any] = {}
        objects: dict[str, Any] = {}
        for node, fields in self.connections.items():
            if not isinstance(fields, dict):
                names[node] = fields  # the flow's check names the mistake
                continue
            names[node] = {}
            for key, value in fields.items():
                if hasattr(value, "to_headrace") or hasattr(value, "_values"):
                    name = value.name or _anonymous(value)
                    objects[name] = value
                    value = name if key == "connection" else value
                names[node][key] = value
        return names, objects


def _anonymous(conn: Any) -> str:
    digest = hashlib.sha1(json.dumps(dict(conn), sort_keys=True, default=str).encode()).hexdigest()[:12]
    return f"connection_{digest}"
