"""Which connections a flow uses, so a flow step is handed those (and only those) connections' keys.

A connection is named by an llm or prompty node's ``connection``, by a python node's literal input to a
parameter typed with a connection class (``conn: CustomConnection`` given ``my_conn``), or by a flex
class entry's ``__init__`` argument so typed. References (``${inputs.conn}``) are known only per line and
are not listed.
"""

from __future__ import annotations

from headrace.errors import FlowError
from headrace.flows.model import FlowSpec, NodeSpec

__all__ = ["connection_names"]


def connection_names(spec: FlowSpec) -> list[str]:
    """The connection names ``spec`` uses (sub-flows included), each once, in order of first use."""
    found: list[str] = list(getattr(spec.entry, "connections", ()) or ())
    for node in spec.nodes:
        for part in (node, node.node):
            if part is None:
                continue
            if isinstance(part.connection, str) and part.connection and "${" not in part.connection:
                found.append(part.connection)
            if part.kind == "python":
                found += _python_literals(spec, part)
            if part.flow is not None:
                found += connection_names(part.flow)
    return list(dict.fromkeys(found))


def _python_literals(spec: FlowSpec, node: NodeSpec) -> list[str]:
    from headrace.flows.tools import connection_parameters, load_tool

    literals = {k: v for k, v in node.inputs.items() if isinstance(v, str) and v and "${" not in v}
    if not literals or node.source is None:
        return []
    try:
        func = load_tool(node.source, node.function, root=spec.folder)
    except FlowError:
        return []  # the flow's own check reports a tool that does not import
    typed = connection_parameters(func)
    return [value for key, value in literals.items() if key in typed]
