"""References: ``${inputs.x}``, ``${node.output.key}``, a map's ``${item}`` / ``${index}``, batch ``${data.col}``.

A string that is exactly one ``${...}`` is a reference; any other string is a literal. References may sit
inside lists and dicts of a node's inputs. Parsing is separate from resolving, so a flow is checked once at
load time and each line only looks values up.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BATCH_KINDS", "Ref", "RefSyntaxError", "Scope", "apply_column_mapping", "find_refs", "parse_ref",
           "resolve", "resolve_value"]

_WHOLE = re.compile(r"^\s*\$\{(.*)\}\s*$", re.DOTALL)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")

#: Reference kinds that only exist in a batch run's column mapping.
BATCH_KINDS = ("data", "run.inputs", "run.outputs")


class RefSyntaxError(ValueError):
    """A ``${...}`` string that is no valid reference; the message says what is allowed."""


@dataclass(frozen=True)
class Ref:
    """A parsed reference.

    Attributes:
        kind: ``inputs``, ``node``, ``item``, ``index``, ``data``, ``run.inputs`` or ``run.outputs``.
        name: the input, node, item or column name (``index`` for the index).
        path: keys to follow into the value (``${n.output.a.b}`` -> ``("a", "b")``); digits index lists.
        text: the reference as written.
    """

    kind: str
    name: str
    path: tuple[str, ...] = ()
    text: str = ""

    def __str__(self) -> str:
        return self.text or "${" + ".".join((self.name, *self.path)) + "}"


def parse_ref(value: Any, *, item: str | None = None, batch: bool = False) -> Ref | None:
    """Parse a reference, or return None for a literal.

    Args:
        value: any value from ``flow.yaml`` (only strings can be references).
        item: inside a map's inner node, the name of the current item (``${index}`` is then allowed too).
        batch: parse a column mapping (``${data.col}``, ``${run.outputs.x}``, ``${run.inputs.x}``).

    Raises:
        RefSyntaxError: the string is ``${...}`` but no valid reference.
    """
    if not isinstance(value, str):
        return None
    return _parse_text(value, item, batch)


@functools.lru_cache(maxsize=4096)
def _parse_text(value: str, item: str | None, batch: bool) -> Ref | None:
    """``parse_ref`` of a string, cached: a flow resolves the same references on every line."""
    match = _WHOLE.match(value)
    if not match:
        return None
    text = value.strip()
    parts = [p.strip() for p in match.group(1).split(".")]
    if not all(parts):
        raise RefSyntaxError(f"{text}: empty name in reference")
    head = parts[0]
    if batch:
        if head == "data" and len(parts) >= 2:
            return Ref("data", parts[1], tuple(parts[2:]), text)
        if head == "run" and len(parts) >= 3 and parts[1] in ("inputs", "outputs"):
            return Ref(f"run.{parts[1]}", parts[2], tuple(parts[3:]), text)
        raise RefSyntaxError(f"{text}: a column mapping takes ${{data.COLUMN}}, ${{run.outputs.NAME}} or "
                             f"${{run.inputs.NAME}}")
    if item is not None and head == item:
        return Ref("item", item, tuple(parts[1:]), text)
    if item is not None and head == "index" and len(parts) == 1:
        return Ref("index", "index", (), text)
    if head in ("inputs", "flow") and len(parts) >= 2:  # "flow." is prompt flow's old alias
        return Ref("inputs", parts[1], tuple(parts[2:]), text)
    if len(parts) >= 2 and parts[1] == "output" and _NAME.match(head):
        return Ref("node", head, tuple(parts[2:]), text)
    allowed = "${inputs.NAME}, ${NODE.output} or ${NODE.output.KEY}"
    if item is not None:
        allowed += f", ${{{item}}}, ${{{item}.KEY}} or ${{index}}"
    raise RefSyntaxError(f"{text}: not a reference; use {allowed}")


def find_refs(value: Any, *, item: str | None = None) -> list[Ref]:
    """Every reference in a value, walking lists and dicts (raises ``RefSyntaxError`` on a bad one)."""
    if isinstance(value, str):
        ref = parse_ref(value, item=item)
        return [ref] if ref else []
    if isinstance(value, Mapping):
        return [r for v in value.values() for r in find_refs(v, item=item)]
    if isinstance(value, list | tuple):
        return [r for v in value for r in find_refs(v, item=item)]
    return []


@dataclass
class Scope:
    """What references resolve against.

    Attributes:
        inputs: the flow inputs of the line.
        outputs: node name -> output, for the nodes that ran (a bypassed node maps to None).
        item: the map item's name and value (``item_name`` None outside a map).
        index: the map item's index.
        data: a batch row, for ``${data.col}``.
        run_inputs / run_outputs: a base run's line, for ``${run.inputs.x}`` / ``${run.outputs.x}``.
        lines: for aggregation nodes: the scopes of the successful lines. An input, or a node missing from
            ``outputs``, then resolves to the list of its values over these lines (paths followed per line).
    """

    inputs: Mapping[str, Any] = field(default_factory=dict)
    outputs: Mapping[str, Any] = field(default_factory=dict)
    item_name: str | None = None
    item: Any = None
    index: int | None = None
    data: Mapping[str, Any] | None = None
    run_inputs: Mapping[str, Any] | None = None
    run_outputs: Mapping[str, Any] | None = None
    lines: list[Scope] | None = None


def resolve(ref: Ref, scope: Scope) -> Any:
    """The value a reference points to.

    Raises:
        KeyError: the name or a key of the path is missing; the message names the reference.
    """
    if ref.kind == "index":
        return scope.index
    if scope.lines is not None and (ref.kind == "inputs" or (ref.kind == "node" and ref.name not in scope.outputs)):
        return [resolve(ref, line) for line in scope.lines]
    sources: dict[str, Mapping[str, Any] | None] = {
        "inputs": scope.inputs, "node": scope.outputs, "data": scope.data,
        "run.inputs": scope.run_inputs, "run.outputs": scope.run_outputs,
    }
    if ref.kind == "item":
        value = scope.item
    else:
        source = sources[ref.kind]
        if source is None or ref.name not in source:
            raise KeyError(f"{ref}: {ref.name!r} is not available here")
        value = source[ref.name]
    return _follow(value, ref)


def _follow(value: Any, ref: Ref) -> Any:
    for i, key in enumerate(ref.path):
        if value is None:  # a bypassed node's output: its keys are None as well
            return None
        if isinstance(value, Mapping) and key in value:
            value = value[key]
        elif isinstance(value, list | tuple) and key.lstrip("-").isdigit() and -len(value) <= int(key) < len(value):
            value = value[int(key)]
        elif not isinstance(value, Mapping | list | tuple) and hasattr(value, key) and not key.startswith("_"):
            value = getattr(value, key)
        else:
            where = ".".join(ref.path[:i]) or "the value"
            have = f" (keys: {', '.join(map(str, value))})" if isinstance(value, Mapping) else ""
            raise KeyError(f"{ref}: {where} has no key {key!r}{have}")
    return value


def resolve_value(value: Any, scope: Scope, *, item: str | None = None) -> Any:
    """Resolve every reference inside a value (lists and dicts walked, literals kept)."""
    if isinstance(value, str):
        ref = parse_ref(value, item=item)
        return resolve(ref, scope) if ref else value
    if isinstance(value, Mapping):
        return {k: resolve_value(v, scope, item=item) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_value(v, scope, item=item) for v in value]
    return value


def apply_column_mapping(mapping: Mapping[str, Any], data: Mapping[str, Any], *,
                         run_inputs: Mapping[str, Any] | None = None,
                         run_outputs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A batch line's flow inputs from a column mapping (``{"question": "${data.q}", "k": 3}``).

    Values that are not references are literals.

    Raises:
        RefSyntaxError: a ``${...}`` value that is no batch reference.
        KeyError: a column or base-run field the line does not have.
    """
    scope = Scope(data=data, run_inputs=run_inputs, run_outputs=run_outputs)
    result = {}
    for name, value in mapping.items():
        ref = parse_ref(value, batch=True)
        result[name] = resolve(ref, scope) if ref else value
    return result
