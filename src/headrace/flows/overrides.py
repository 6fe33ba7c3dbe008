"""Per-run changes to a flow as written: other connections for some nodes, or any field set by its path.

Prompt flow's ``connections`` and ``overrides`` (``Run(connections=...)``, ``FlowContext``), applied to the
flow's YAML before it is checked, so a changed input changes the graph too (a node whose input is set to a
literal no longer reads the flow input):

- ``connections``: ``{node: {"connection": NAME, "deployment_name": ..., "model": ...}}`` for an llm node;
  for a python node, ``{input: NAME}`` for its connection inputs (and ``deployment_name``/``model``).
- ``overrides``: ``{"nodes.NODE.inputs.KEY": value, "inputs.NAME.default": value, ...}``: a dotted path into
  the file, nodes addressed by name.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

__all__ = ["apply_overrides"]

_LLM_FIELDS = ("deployment_name", "model")


def apply_overrides(data: dict[str, Any], nodes: list[Any], *, connections: Mapping[str, Any] | None,
                    overrides: Mapping[str, Any] | None, problems: list[str]) -> list[Any]:
    """The nodes with ``connections`` and ``overrides`` applied (copies); ``data`` (the file's mapping) is
    changed in place for paths outside ``nodes``. Each change that names nothing the flow has is a problem."""
    if not connections and not overrides:
        return nodes
    nodes = copy.deepcopy(nodes)
    by_name = {n.get("name"): n for n in nodes if isinstance(n, dict)}
    known = ", ".join(str(n) for n in by_name) or "none"
    for name, fields in (connections or {}).items():
        node = by_name.get(name)
        if node is None:
            problems.append(f"connections: the flow has no node {name!r} (nodes: {known})")
        elif not isinstance(fields, Mapping):
            problems.append(f"connections: node {name!r}: give a mapping such as {{'connection': NAME}}")
        else:
            _connect(node, name, dict(fields), problems)
    for path, value in (overrides or {}).items():
        parts = str(path).split(".")
        if parts[0] == "nodes" and len(parts) >= 3:
            node = by_name.get(parts[1])
            if node is None:
                problems.append(f"overrides: {path!r}: the flow has no node {parts[1]!r} (nodes: {known})")
            else:
                _set(node, parts[2:], value, str(path), problems)
        else:
            _set(data, parts, value, str(path), problems)
    return nodes


def _connect(node: dict[str, Any], name: str, fields: dict[str, Any], problems: list[str]) -> None:
    inputs = node.setdefault("inputs", {})
    if not isinstance(inputs, dict):
        problems.append(f"connections: node {name!r} has no inputs mapping")
        return
    if node.get("type") == "llm":
        if "connection" in fields:
            node["connection"] = fields.pop("connection")
        for key in _LLM_FIELDS:
            if key in fields:
                inputs[key] = fields.pop(key)
        if fields:
            problems.append(f"connections: llm node {name!r}: {', '.join(map(repr, fields))} cannot be set "
                            f"this way; only connection, {', '.join(_LLM_FIELDS)}")
        return
    unknown = [k for k in fields if k not in inputs and k not in _LLM_FIELDS]
    if unknown:
        problems.append(f"connections: node {name!r} has no input {', '.join(map(repr, unknown))} "
                        f"(its inputs: {', '.join(inputs) or 'none'})")
        return
    inputs.update(fields)


def _set(target: dict[str, Any], parts: list[str], value: Any, path: str, problems: list[str]) -> None:
    for part in parts[:-1]:
        nxt = target.setdefault(part, {})
        if not isinstance(nxt, dict):
            problems.append(f"overrides: {path!r}: {part!r} is not a mapping")
            return
        target = nxt
    target[parts[-1]] = value
