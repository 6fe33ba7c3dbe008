"""The flow's graph, built from references only: dependencies, unknown names, aggregation rules, cycles."""

from __future__ import annotations

from collections import Counter
from typing import Any

from headrace.flows.model import InputSpec, NodeSpec, OutputSpec
from headrace.flows.refs import Ref, RefSyntaxError, find_refs

__all__ = ["check_graph", "node_refs", "topological"]


def node_refs(node: NodeSpec) -> tuple[list[Ref], list[Ref]]:
    """``(input_refs, other_refs)`` of a node: its inputs' references (a map's ``over`` and inner node's
    included), and those of ``activate.when``, ``connection``, ``context_budget`` and ``language``.

    Raises:
        RefSyntaxError: a malformed reference.
    """
    inputs = find_refs(node.inputs)
    other = find_refs([node.connection, node.context_budget, node.language])
    if node.activate is not None:
        other += find_refs(node.activate.when)
    if node.kind == "map":
        inputs += find_refs(node.over)
        if node.node is not None:
            inner = node.node
            inputs += find_refs(inner.inputs, item=node.item)
            other += find_refs([inner.connection, inner.context_budget, inner.language], item=node.item)
    return inputs, other


def check_graph(inputs: dict[str, InputSpec], outputs: dict[str, OutputSpec], nodes: list[NodeSpec],
                raw_count: int = 0) -> list[str]:
    """Check references and structure; fill each node's ``deps`` and ``input_deps``. Returns the problems."""
    problems: list[str] = []
    counts = Counter(n.name for n in nodes)
    for name, count in counts.items():
        if count > 1:
            problems.append(f"node {name!r}: the name is used by {count} nodes; node names must be unique")
    by_name = {n.name: n for n in nodes}
    for node in nodes:
        try:
            input_refs, other_refs = node_refs(node)
        except RefSyntaxError as exc:
            problems.append(f"node {node.name!r}: {exc}")
            continue
        deps: set[str] = set()
        for ref in (*input_refs, *other_refs):
            problems += _check_ref(ref, f"node {node.name!r}", inputs, by_name)
            if ref.kind == "node" and ref.name in by_name:
                deps.add(ref.name)
                if by_name[ref.name].aggregation and not node.aggregation:
                    problems.append(f"node {node.name!r}: uses aggregation node {ref.name!r}, which runs once "
                                    f"per batch after all lines; only aggregation nodes can use it")
        node.deps = frozenset(deps)
        node.input_deps = frozenset(r.name for r in input_refs if r.kind == "node" and r.name in by_name)
        if node.name in deps:
            problems.append(f"node {node.name!r}: refers to its own output; a node cannot use itself")
    for out in outputs.values():
        for ref in out.refs:
            problems += _check_ref(ref, f"output {out.name!r}", inputs, by_name)
            if ref.kind == "node" and ref.name in by_name and by_name[ref.name].aggregation:
                problems.append(f"output {out.name!r}: refers to aggregation node {ref.name!r}; aggregation "
                                f"results are batch metrics, not line outputs")
    cycle = _find_cycle(nodes)
    if cycle:
        problems.append(f"nodes {' -> '.join(cycle)} form a cycle; a flow must be acyclic (break one reference)")
    return problems


def _check_ref(ref: Ref, where: str, inputs: dict[str, Any], nodes: dict[str, NodeSpec]) -> list[str]:
    if ref.kind == "inputs" and ref.name not in inputs:
        return [f"{where}: {ref} refers to an unknown input {ref.name!r} (inputs: {', '.join(inputs) or 'none'})"]
    if ref.kind == "node" and ref.name not in nodes:
        return [f"{where}: {ref} refers to an unknown node {ref.name!r} (nodes: {', '.join(nodes) or 'none'})"]
    return []


def _find_cycle(nodes: list[NodeSpec]) -> list[str] | None:
    """One cycle as a closed list of names (``[a, b, a]``), or None."""
    by_name = {n.name: n for n in nodes}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for dep in sorted(by_name[name].deps - {name}):
            if state.get(dep) == 1:
                return [*path[path.index(dep):], dep]
            if dep not in state and (found := visit(dep)):
                return found
        path.pop()
        state[name] = 2
        return None

    for node in nodes:
        if node.name not in state and (found := visit(node.name)):
            return found
    return None


def topological(nodes: list[NodeSpec]) -> list[NodeSpec]:
    """The nodes in an order where each comes after its dependencies (file order kept where free)."""
    done: set[str] = set()
    order: list[NodeSpec] = []
    remaining = list(nodes)
    names = {n.name for n in nodes}
    while remaining:
        ready = [n for n in remaining if (n.deps & names) <= done]
        if not ready:  # a cycle: check_graph reports it; never loop forever
            ready = remaining[:1]
        for n in ready:
            done.add(n.name)
            order.append(n)
        remaining = [n for n in remaining if n.name not in done]
    return order
