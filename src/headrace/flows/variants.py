"""``node_variants``: several versions of a node, one of which runs (prompt flow's variants).

A flow may carry, beside its ``nodes``, a mapping in prompt flow's own shape::

    node_variants:
      summarize:
        default_variant_id: variant_0
        variants:
          variant_0: {node: {type: llm, source: ..., inputs: ...}}
          variant_1: {node: {type: llm, source: ..., inputs: ...}}

The node in ``nodes`` is what runs by default. Choosing ``${summarize.variant_1}`` (``--variant`` on the
CLI, ``variant=`` in Python) replaces it with that variant's node before the flow is checked, so a variant is
validated like any node. One variant is chosen per run; comparing variants is one run per variant
(``headrace flow run --variant A --variant B`` submits them together and compares their results).
"""

from __future__ import annotations

import re
from typing import Any

from headrace.errors import FlowInputError

__all__ = ["parse_variant", "select_variant", "variant_ids"]

_VARIANT = re.compile(r"^\$\{([A-Za-z_][\w-]*)\.([\w-]+)\}$")


def parse_variant(text: str) -> tuple[str, str]:
    """``"${node.variant_1}"`` -> ``("node", "variant_1")``.

    Raises:
        FlowInputError: not in that form.
    """
    match = _VARIANT.match(text.strip())
    if not match:
        raise FlowInputError(f"{text!r} is not a variant; write it as '${{NODE.VARIANT_ID}}'", input="variant")
    return match[1], match[2]


def variant_ids(data: dict[str, Any]) -> dict[str, list[str]]:
    """Node name -> its variant ids, from a flow file's mapping (empty when it has no variants)."""
    found = {}
    for node, spec in (data.get("node_variants") or {}).items():
        if isinstance(spec, dict) and isinstance(spec.get("variants"), dict):
            found[str(node)] = [str(v) for v in spec["variants"]]
    return found


def select_variant(data: dict[str, Any], raw_nodes: list[Any], variant: str | None,
                   problems: list[str]) -> list[Any]:
    """The flow's raw nodes with the chosen variant's node in place of its node (problems appended).

    Raises:
        FlowInputError: ``variant`` names a node or variant the flow does not have (listing those it has).
    """
    raw = data.get("node_variants")
    if raw is not None and not isinstance(raw, dict):
        problems.append("node_variants must be a mapping of node name -> {default_variant_id, variants}")
        return raw_nodes
    names = {n.get("name") for n in raw_nodes if isinstance(n, dict)}
    for node, spec in (raw or {}).items():
        variants = spec.get("variants") if isinstance(spec, dict) else None
        if not isinstance(variants, dict) or not variants:
            problems.append(f"node_variants.{node}: needs variants: {{ID: {{node: {{...}}}}}}")
        elif node not in names:
            problems.append(f"node_variants.{node}: there is no node {node!r} in nodes")
        elif any(not isinstance(v, dict) or not isinstance(v.get("node"), dict) for v in variants.values()):
            problems.append(f"node_variants.{node}: each variant must be {{node: {{type: ..., ...}}}}")
        elif spec.get("default_variant_id") not in (None, *variants):
            problems.append(f"node_variants.{node}: default_variant_id {spec['default_variant_id']!r} is not "
                            f"one of {', '.join(variants)}")
    if variant is None or problems:
        return raw_nodes
    node, chosen = parse_variant(variant)
    have = variant_ids(data)
    if node not in have:
        listed = "; ".join(f"{n}: {', '.join(v)}" for n, v in have.items()) or "none"
        raise FlowInputError(f"{variant}: node {node!r} has no variants (variants: {listed})", input="variant")
    if chosen not in have[node]:
        raise FlowInputError(f"{variant}: node {node!r} has no variant {chosen!r} (its variants: "
                             f"{', '.join(have[node])})", input="variant")
    picked = {**raw[node]["variants"][chosen]["node"], "name": node}
    return [picked if isinstance(n, dict) and n.get("name") == node else n for n in raw_nodes]
