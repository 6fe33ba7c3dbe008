"""Flex flows and prompty files as flows: one ``entry`` node, so batch runs, evaluations and serving use them.

``entry_spec(path)`` turns a ``flow.flex.yaml`` folder or a ``.prompty`` file into a ``FlowSpec`` with one
per-line node of kind ``entry`` (its inputs are the flow inputs) and, for a class entry with
``__aggregate__``, one aggregation node. The flow's inputs come from the entry's signature (flex; a class's
``__call__``) or the prompty's ``inputs``. Its outputs are the entry's result as prompt flow gives them: a
dict (a dataclass becomes one) is the outputs, anything else is ``{"output": value}``.

``Entry`` calls the loaded entry for the executor (``headrace.flows.nodes``): flex code runs in a worker
thread as python tools do; a prompty finds a ``configuration.connection`` through the line's LLM runner.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from pathlib import Path
from typing import Any

from headrace.errors import FlowDefinitionError
from headrace.flows.model import FlowSpec, InputSpec, NodeSpec

__all__ = ["ENTRY_NODE", "AGGREGATE_NODE", "Entry", "entry_outputs", "entry_spec", "is_entry_path",
           "load_node_prompty", "prompty_node_problems", "run_prompty"]

ENTRY_NODE = "entry"
AGGREGATE_NODE = "__aggregate__"
_TYPES = {str: "string", int: "int", float: "double", bool: "bool", list: "list", dict: "object"}


@dataclasses.dataclass
class EntryInfo:
    """What a spec built by ``entry_spec`` loads: ``kind`` is ``flex`` or ``prompty``; ``path`` the folder
    or file; ``init`` a class entry's ``__init__`` arguments (None: the file's sample)."""

    kind: str
    path: Path
    init: dict[str, Any] | None = None
    connections: tuple[str, ...] = ()  # connection names its __init__ arguments give (see flows.uses)


def is_entry_path(path: str | Path) -> bool:
    """True for a ``.prompty`` file, or a folder with ``flow.flex.yaml`` and no ``flow.yaml``."""
    from headrace.flows.flex import is_flex

    p = Path(path)
    return (p.is_file() and p.suffix == ".prompty") or (p.is_dir() and is_flex(p))


def entry_spec(path: str | Path, init: dict[str, Any] | None = None) -> FlowSpec:
    """A one-node ``FlowSpec`` for a flex flow folder or a ``.prompty`` file (see the module docstring).

    Raises:
        FlowDefinitionError: the file is invalid, or the entry cannot be imported.
    """
    p = Path(path).resolve()
    if p.suffix == ".prompty":
        from headrace.flows.prompty import load_prompty

        prompty = load_prompty(p)
        inputs = {n: _prompty_input(n, i) for n, i in prompty.inputs.items()}
        connection = prompty.configuration.get("connection")
        node = _node(inputs, p, str(connection) if connection else None)
        return FlowSpec(p.parent, inputs, {}, [node], display_name=prompty.name, compat="promptflow",
                        entry=EntryInfo("prompty", p))
    from headrace.flows.flex import load_flex

    flex = load_flex(p, init, build=False)  # built when it runs, with the run's connections
    target = flex.call
    call = target.__call__ if not inspect.isfunction(target) and not inspect.ismethod(target) else target
    inputs = _signature_inputs(call, str(p / "flow.flex.yaml"))
    nodes = [_node(inputs, p / "flow.flex.yaml", None)]
    if callable(getattr(target, "__aggregate__", None)):
        nodes.append(NodeSpec(AGGREGATE_NODE, "entry", {"results": f"${{{ENTRY_NODE}.output}}"}, aggregation=True,
                              deps=frozenset({ENTRY_NODE}), input_deps=frozenset({ENTRY_NODE})))
    connections: tuple[str, ...] = ()
    if inspect.isclass(target):
        from headrace.flows.tools import connection_parameters

        typed = connection_parameters(target.__init__)
        connections = tuple(v for k, v in flex.init_args.items() if k in typed and isinstance(v, str))
    return FlowSpec(p, inputs, {}, nodes, compat="promptflow", entry=EntryInfo("flex", p, init, connections))


def _node(inputs: dict[str, InputSpec], source: Path, connection: str | None) -> NodeSpec:
    return NodeSpec(ENTRY_NODE, "entry", {n: f"${{inputs.{n}}}" for n in inputs}, source=source,
                    connection=connection)


def _prompty_input(name: str, raw: dict[str, Any]) -> InputSpec:
    has_default = "default" in raw
    return InputSpec(name, str(raw.get("type", "string")), raw.get("default"), required=not has_default,
                     description=str(raw.get("description") or ""))


def _signature_inputs(func: Any, where: str) -> dict[str, InputSpec]:
    try:
        params = inspect.signature(func).parameters
        hints = typing.get_type_hints(func)
    except (TypeError, ValueError, NameError) as exc:
        raise FlowDefinitionError([f"cannot read the entry's signature: {exc}"], flow=where) from exc
    found = {}
    for name, param in params.items():
        if name == "self" or param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
            continue
        kind = _TYPES.get(typing.get_origin(hints.get(name)) or hints.get(name), "object")
        required = param.default is inspect.Parameter.empty
        found[name] = InputSpec(name, kind, None if required else param.default, required=required)
    return found


def entry_outputs(value: Any) -> dict[str, Any]:
    """A line's outputs from the entry's result: a dict as it is, anything else under ``output``."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    return dict(value) if isinstance(value, dict) else {"output": value}


class Entry:
    """The loaded entry of a spec built by ``entry_spec``: what its nodes call."""

    def __init__(self, info: EntryInfo):
        self.info = info
        if info.kind == "prompty":
            from headrace.flows.prompty import load_prompty

            self.prompty: Any = load_prompty(info.path)
            self.flex: Any = None
        else:
            self.prompty, self.flex = None, None

    async def call(self, node: NodeSpec, values: dict[str, Any], connect: Any, stream: bool = False) -> Any:
        """Run the node: the entry over one line's inputs, or ``__aggregate__`` over the lines' results.
        ``stream``: a served line asked for an event stream (a prompty's text answer then streams)."""
        from headrace.flows.nodes import run_python

        if self.prompty is not None:
            if self.prompty.lookup is None and connect is not None:
                self.prompty.lookup = connect
            return await self.prompty.arun(values, stream=stream)
        if self.flex is None:
            # Built on first use, not at load: an __init__ connection argument is a name the line's LLM
            # runner resolves (the runner is known per run, not when the spec is read).
            from headrace.flows.flex import load_flex

            self.flex = load_flex(self.info.path, self.info.init, connect=connect)
        if node.aggregation:
            return await self._aggregate(values.get("results") or [])
        return await run_python(self.flex.call, values)

    async def _aggregate(self, results: list[Any]) -> Any:
        """``__aggregate__(line_results)``; a dict it returns is logged as metrics (its numbers), as in
        prompt flow."""
        from headrace.flows.nodes import run_python
        from headrace.flows.tools import log_metric

        method = self.flex.call.__aggregate__
        first = next(iter(inspect.signature(method).parameters), "line_results")
        value = await run_python(method, {first: results})
        if isinstance(value, dict):
            for key, number in value.items():
                if isinstance(number, int | float) and not isinstance(number, bool):
                    log_metric(str(key), number)
        return value


# -- a prompty as a node of a flow (``type: prompty``) -------------------------------------------------


def prompty_node_problems(node: NodeSpec, label: str, lenient: bool) -> list[str]:
    """Check a ``type: prompty`` node against its file; its ``connection`` defaults to the file's
    ``configuration.connection`` (so a flow step is given that connection)."""
    from headrace.flows.prompty import load_prompty

    try:
        prompty = load_prompty(node.source)  # type: ignore[arg-type]
    except FlowDefinitionError as exc:
        return [f"{label}: {p}" for p in exc.problems]
    node.connection = node.connection or prompty.configuration.get("connection")
    problems = []
    unknown = [k for k in node.inputs if k not in prompty.inputs]
    if unknown and not lenient:
        problems.append(f"{label}: {prompty.path.name} has no input {', '.join(map(repr, unknown))} (it takes: "
                        f"{', '.join(prompty.inputs) or 'nothing'})")
    missing = [n for n, i in prompty.inputs.items() if "default" not in i and n not in node.inputs]
    if missing:
        problems.append(f"{label}: {prompty.path.name} needs {', '.join(map(repr, missing))}; add them to inputs")
    return problems


def load_node_prompty(node: NodeSpec) -> Any:
    """The loaded prompty of a ``type: prompty`` node (a node's ``connection`` overrides the file's)."""
    from headrace.flows.prompty import load_prompty

    model = {"configuration": {"connection": node.connection}} if node.connection else None
    return load_prompty(node.source, model=model)  # type: ignore[arg-type]


async def run_prompty(prompty: Any, values: dict[str, Any], connect: Any) -> Any:
    """Call a node's prompty; a ``configuration.connection`` is found through the line's LLM runner."""
    if prompty.lookup is None and connect is not None:
        prompty.lookup = connect
    return await prompty.arun(values)
