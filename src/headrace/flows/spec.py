"""``flow.yaml``: load and validate a flow folder into plain dataclasses, reporting every problem at once.

``load_spec(folder)`` reads nothing but files: tool files are checked by their syntax tree (nothing is
imported) and templates are compiled, so a broken flow is reported before anything runs. Every problem names
the node, input or output and says how to fix it; they all come together in one ``FlowDefinitionError``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from headrace.errors import FlowDefinitionError
from headrace.flows.entries import entry_spec, is_entry_path, prompty_node_problems
from headrace.flows.flow_io import coerce_inputs, parse_inputs, parse_outputs
from headrace.flows.graph import check_graph
from headrace.flows.model import (
    FLOW_TYPES,
    LLM_PARAMS,
    NODE_KINDS,
    Activate,
    FlowSpec,
    InputSpec,
    NodeSpec,
    OutputSpec,
)
from headrace.flows.overrides import apply_overrides
from headrace.flows.templates import template_problems, template_variables
from headrace.flows.tools import scan_tools
from headrace.flows.variants import select_variant

__all__ = ["Activate", "FlowSpec", "InputSpec", "LLM_PARAMS", "NODE_KINDS", "NodeSpec", "OutputSpec",
           "coerce_inputs", "load_spec"]

_TOP_KEYS = {"inputs", "outputs", "nodes", "description", "display_name", "tags", "type", "$schema",
             "environment", "environment_variables", "additional_includes", "language", "id", "name", "compat"}
_NODE_KEYS = {"name", "type", "source", "function", "inputs", "connection", "activate", "aggregation", "over",
              "item", "concurrency", "node", "path", "context_budget", "language", "api", "comment", "description",
              "enable_cache", "provider", "module"}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_BARE_REF = re.compile(r"(?<=[\[{,:])(\s*)(\$\{[^{}\n\"']*\})(?=\s*(?:[,}\]\n#]|$))")


def load_spec(folder: str | Path, *, init: dict[str, Any] | None = None, variant: str | None = None,
              connections: dict[str, Any] | None = None, overrides: dict[str, Any] | None = None) -> FlowSpec:
    """Load and validate the flow in ``folder`` (or a path to its ``flow.yaml``); a flex flow folder or a
    ``.prompty`` file loads as a one-node flow (``headrace.flows.entries``; ``init``: a class entry's
    ``__init__`` arguments). ``variant`` (``${NODE.VARIANT_ID}``) runs that variant of a node
    (``headrace.flows.variants``); ``connections`` and ``overrides`` change nodes or fields for this load
    (``headrace.flows.overrides``).

    Raises:
        FlowDefinitionError: every problem found, each naming the node, input or output, and the fix.
        FlowInputError: ``variant`` names a node or variant the flow does not have.
    """
    path = Path(folder)
    if is_entry_path(path):
        if connections or overrides:
            raise FlowDefinitionError(["connections and overrides apply to a flow's nodes; a flex flow or "
                                       "prompty has none (give a flex class its connections with init)"],
                                      flow=str(path))
        return entry_spec(path, init)
    if path.is_file():
        path = path.parent
    return _load(path.resolve(), (), variant, connections, overrides)


def _read_yaml(file: Path) -> Any:
    """The YAML document; bare ``${...}`` in ``{...}``/``[...]`` (invalid YAML) is quoted as a courtesy."""
    text = file.read_text(encoding="utf-8")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        try:
            return yaml.safe_load(_BARE_REF.sub(r'\1"\2"', text))
        except yaml.YAMLError:
            pass
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise FlowDefinitionError([f"{where}YAML syntax error: {problem}"], flow=str(file)) from exc


def _load(folder: Path, stack: tuple[Path, ...], variant: str | None = None,
          connections: dict[str, Any] | None = None, overrides: dict[str, Any] | None = None) -> FlowSpec:
    file = folder / "flow.yaml"
    if not file.is_file():
        hint = " (a prompt flow folder: run `headrace flow import-promptflow` on it)" if (
            folder / "flow.dag.yaml").is_file() else ""
        raise FlowDefinitionError([f"no flow.yaml in {folder}{hint}"], flow=str(file))
    data = _read_yaml(file)
    if not isinstance(data, dict):
        raise FlowDefinitionError(["the file must be a mapping with inputs, outputs and nodes"], flow=str(file))
    problems: list[str] = []
    unknown = sorted(set(data) - _TOP_KEYS - {"node_variants"})
    if unknown:
        problems.append(f"unknown top-level key(s) {', '.join(unknown)}; allowed: inputs, outputs, nodes, "
                        f"node_variants, "
                        f"description, display_name, tags, type")
    kind = data.get("type") or "standard"
    if kind not in FLOW_TYPES:
        problems.append(f"type {kind!r} is not one of {', '.join(FLOW_TYPES)}")
    compat = data.get("compat")
    if compat not in (None, "promptflow"):
        problems.append(f"compat {compat!r} is not supported; the only value is promptflow (imported flows)")
    raw_nodes = data.get("nodes") or []
    if not isinstance(raw_nodes, list):
        problems.append("nodes must be a list of nodes (each starting with '- name: ...')")
        raw_nodes = []
    raw_nodes = select_variant(data, raw_nodes, variant, problems)
    raw_nodes = apply_overrides(data, raw_nodes, connections=connections, overrides=overrides, problems=problems)
    env = data.get("environment_variables") or {}
    if not isinstance(env, dict):
        problems.append("environment_variables must be a mapping of NAME -> value")
        env = {}
    inputs = parse_inputs(data.get("inputs") or {}, problems)
    outputs = parse_outputs(data.get("outputs") or {}, problems)
    lenient = compat == "promptflow"
    nodes = [n for i, raw in enumerate(raw_nodes) if (n := _node(raw, i, folder, stack, problems, lenient=lenient))]
    if lenient:  # prompt flow leaves an output that reads an aggregation node out of the line's outputs
        batch_only = {n.name for n in nodes if n.aggregation}
        outputs = {k: o for k, o in outputs.items()
                   if not any(r.kind == "node" and r.name in batch_only for r in o.refs)}
    problems += check_graph(inputs, outputs, nodes, raw_count=len(raw_nodes))
    if problems:
        raise FlowDefinitionError(problems, flow=str(file))
    tags = data.get("tags") if isinstance(data.get("tags"), dict) else {}
    return FlowSpec(folder, inputs, outputs, nodes, str(data.get("description") or ""), kind,
                    str(data.get("display_name") or ""), tags, compat,
                    {str(k): "" if v is None else str(v) for k, v in env.items()}, variant=variant)


def _node(raw: Any, index: int, folder: Path, stack: tuple[Path, ...], problems: list[str],
          inner_of: str | None = None, *, lenient: bool = False) -> NodeSpec | None:
    if not isinstance(raw, dict):
        problems.append(f"node #{index + 1}: must be a mapping with name and type")
        return None
    name = inner_of or raw.get("name")
    label = f"map node {inner_of!r}, inner node" if inner_of else f"node {name!r}"
    if inner_of is None and not (isinstance(name, str) and _NAME.match(name)):
        problems.append(f"node #{index + 1}: name {name!r} must be letters, digits, '_' or '-' (a letter first)")
        return None
    if name in ("inputs", "flow", "data", "run"):
        problems.append(f"{label}: the name {name!r} is reserved for references; rename the node")
    kind = raw.get("type")
    allowed = NODE_KINDS if inner_of is None else ("python", "llm", "prompt", "flow")
    if kind not in allowed:
        hint = " (custom_llm: use type llm with the template as source)" if kind == "custom_llm" else ""
        problems.append(f"{label}: type {kind!r} is not one of {', '.join(allowed)}{hint}")
        return None
    unknown = sorted(set(raw) - _NODE_KEYS)
    if "use_variants" in unknown:
        problems.append(f"{label}: use_variants is not supported; put the chosen variant's settings in the node")
        unknown.remove("use_variants")
    if unknown:
        problems.append(f"{label}: unknown key(s) {', '.join(unknown)}")
    inputs = raw.get("inputs") or {}
    if not isinstance(inputs, dict):
        problems.append(f"{label}: inputs must be a mapping of name -> value or reference")
        inputs = {}
    node = NodeSpec(name, kind, {str(k): v for k, v in inputs.items()}, aggregation=bool(raw.get("aggregation")))
    if inner_of and (raw.get("activate") or raw.get("aggregation")):
        problems.append(f"{label}: activate and aggregation belong on the map node, not its inner node")
    if "activate" in raw:
        act = raw["activate"]
        if not isinstance(act, dict) or "when" not in act or "is" not in act:
            problems.append(f"{label}: activate needs both `when` (a reference) and `is` (the value to match)")
        else:
            node.activate = Activate(act["when"], act["is"])
    if kind in ("python", "llm", "prompt", "prompty"):
        node.source = _source(raw.get("source"), folder, label, problems)
    if kind == "prompty" and node.source:
        node.connection = raw.get("connection")
        problems += prompty_node_problems(node, label, lenient)
    if kind == "python":
        node.function = raw.get("function")
        if node.source:
            _check_tool(node, label, problems)
    elif kind in ("llm", "prompt"):
        if node.source:
            _check_template(node, label, problems, lenient)
        if kind == "llm":
            node.connection = raw.get("connection")
            node.context_budget = raw.get("context_budget")
            node.language = raw.get("language")
            if not node.connection:
                problems.append(f"{label}: no connection; add connection: NAME (see `headrace connection list`)")
            if raw.get("api", "chat") != "chat":
                problems.append(f"{label}: api {raw.get('api')!r} is not supported; only chat models (api: chat)")
    elif kind == "map":
        _map(node, raw, index, folder, stack, label, problems, lenient)
    elif kind == "flow":
        _subflow(node, raw.get("path"), folder, stack, label, problems)
    return node


def _source(raw: Any, folder: Path, label: str, problems: list[str]) -> Path | None:
    if isinstance(raw, str):
        raw = {"type": "code", "path": raw}
    if not isinstance(raw, dict) or not raw.get("path"):
        problems.append(f"{label}: no source; add source: {{type: code, path: FILE}}")
        return None
    if raw.get("type", "code") != "code":
        problems.append(f"{label}: source type {raw.get('type')!r} is not supported; copy the tool into a file "
                        f"in the flow folder and use source: {{type: code, path: FILE}}")
        return None
    path = (folder / str(raw["path"])).resolve()
    if not path.is_file():
        problems.append(f"{label}: source file {raw['path']!r} does not exist in {folder}")
        return None
    return path


def _check_tool(node: NodeSpec, label: str, problems: list[str]) -> None:
    assert node.source is not None
    try:
        tools = {t.name: t for t in scan_tools(node.source)}
    except SyntaxError as exc:
        problems.append(f"{label}: {node.source.name}, line {exc.lineno}: Python syntax error: {exc.msg}")
        return
    if not tools:
        problems.append(f"{label}: {node.source.name} has no @tool function; decorate the entry function with "
                        f"@tool (from headrace.flows import tool)")
        return
    if node.function is None and len(tools) > 1:
        problems.append(f"{label}: {node.source.name} has {len(tools)} @tool functions ({', '.join(tools)}); "
                        f"say which with function: NAME")
        return
    info = tools.get(node.function) if node.function else next(iter(tools.values()))
    if info is None:
        problems.append(f"{label}: {node.source.name} has no @tool function {node.function!r} (it has: "
                        f"{', '.join(tools)})")
        return
    unknown = [k for k in node.inputs if k not in info.params and not info.var_keyword]
    if unknown:
        problems.append(f"{label}: {info.name}() has no parameter {', '.join(map(repr, unknown))} "
                        f"(it takes: {', '.join(info.params) or 'nothing'})")
    missing = [p for p in info.required if p not in node.inputs]
    if missing:
        problems.append(f"{label}: {info.name}() needs {', '.join(map(repr, missing))}; add them to inputs")


def _check_template(node: NodeSpec, label: str, problems: list[str], lenient: bool) -> None:
    assert node.source is not None
    text = node.source.read_text(encoding="utf-8")
    found = template_problems(text, node.source.name)
    if found:
        problems += [f"{label}: {p}" for p in found]
        return
    if lenient:  # prompt flow renders an undefined variable empty
        return
    given = set(node.inputs) - (LLM_PARAMS if node.kind == "llm" else set())
    missing = sorted(template_variables(text) - given - {"loop"})
    if missing:
        problems.append(f"{label}: {node.source.name} uses {', '.join(missing)} but the node's inputs do not "
                        f"give {'it' if len(missing) == 1 else 'them'}; add e.g. {missing[0]}: ${{inputs.{missing[0]}}}")


def _map(node: NodeSpec, raw: dict, index: int, folder: Path, stack: tuple[Path, ...], label: str,
         problems: list[str], lenient: bool) -> None:
    if "over" not in raw:
        problems.append(f"{label}: a map needs over: ${{NODE.output}} (the list to go through)")
    node.over = raw.get("over")
    if node.over is not None and not isinstance(node.over, list | str):
        problems.append(f"{label}: over must be a reference or a list")
    node.item = str(raw.get("item") or "item")
    if not _NAME.match(node.item) or node.item in ("inputs", "index", "flow"):
        problems.append(f"{label}: item {node.item!r} must be a plain name other than inputs, index or flow")
    concurrency = raw.get("concurrency", 4)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        problems.append(f"{label}: concurrency must be a whole number of at least 1, got {concurrency!r}")
    else:
        node.concurrency = concurrency
    if not isinstance(raw.get("node"), dict):
        problems.append(f"{label}: a map needs node: {{type: python|llm|prompt|flow, ...}} (the inner node)")
        return
    node.node = _node(raw["node"], index, folder, stack, problems, inner_of=node.name, lenient=lenient)


def _subflow(node: NodeSpec, raw: Any, folder: Path, stack: tuple[Path, ...], label: str,
             problems: list[str]) -> None:
    if not raw:
        problems.append(f"{label}: a sub-flow node needs path: FOLDER (a folder with its own flow.yaml)")
        return
    path = (folder / str(raw)).resolve()
    if path == folder or path in stack:
        problems.append(f"{label}: sub-flow {raw!r} includes itself (flows cannot recurse)")
        return
    if not (path / "flow.yaml").is_file():
        problems.append(f"{label}: sub-flow folder {raw!r} has no flow.yaml")
        return
    try:
        node.flow = _load(path, (*stack, folder))
    except FlowDefinitionError as exc:
        problems += [f"{label}: sub-flow {raw!r}: {p}" for p in exc.problems]
        return
    unknown = [k for k in node.inputs if k not in node.flow.inputs]
    if unknown:
        problems.append(f"{label}: sub-flow {raw!r} has no input {', '.join(map(repr, unknown))} (it has: "
                        f"{', '.join(node.flow.inputs) or 'none'})")
    missing = [n for n, i in node.flow.inputs.items() if i.required and n not in node.inputs]
    if missing:
        problems.append(f"{label}: sub-flow {raw!r} needs input {', '.join(map(repr, missing))}")
