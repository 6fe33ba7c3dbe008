"""One-way import of a prompt flow DAG flow (``flow.dag.yaml``) into a headrace flow (``flow.yaml``).

What converts as is: typed inputs (defaults, chat flags), outputs and their references, ``llm`` /
``python`` / ``prompt`` nodes with ``source.type: code``, ``connection``, ``activate``, ``aggregation``,
``node_variants`` (every variant converted like a node; the default one is in ``nodes``).
What converts with a warning: ``${flow.x}`` (an old alias of ``${inputs.x}``), ``api: completion``
(headrace calls the chat API), the legacy ``provider`` / ``module`` keys (dropped), ``environment``
(headrace builds no environment),
``additional_includes`` (copied in), and the built-in ``promptflow.tools.llm.llm`` tool (an ``llm`` node).
What does not convert: other package tools and ``custom_llm`` nodes, C# flows and nodes, image inputs; they
are listed in the report and, with their original YAML, in a comment at the top of the written ``flow.yaml``.

Python files get an exact import-line rewrite (``headrace.flows.pf_imports``): ``from promptflow.core import
tool`` becomes ``from headrace.flows import tool``; an import of a module that the compatibility package does
not serve is not converted.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from headrace.errors import FlowDefinitionError, FlowError
from headrace.flows.pf_imports import SERVED_MODULES, rewrite_imports

__all__ = ["SERVED_MODULES", "ImportReport", "import_promptflow"]

_DAG_NAMES = ("flow.dag.yaml", "flow.dag.yml")
_SKIP = {".promptflow", "__pycache__", ".runs", ".git", ".venv", ".pytest_cache"}
_INPUT_TYPES = {"string", "int", "double", "bool", "list", "object"}
_FLOW_TYPES = {"standard", "chat", "evaluation"}
_BUILTIN_LLM_TOOL = "promptflow.tools.llm.llm"
_FLOW_ALIAS = re.compile(r"\$\{flow\.")
@dataclass
class ImportReport:
    """What ``import_promptflow`` did.

    Attributes:
        written: every file written or rewritten, ``flow.yaml`` first.
        warnings: conversions that changed meaning or need a step from the user.
        unconverted: what could not be converted (each names the node or input and what to do).
    """

    written: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unconverted: list[str] = field(default_factory=list)


def import_promptflow(src_dir: str | Path, out_dir: str | Path | None = None, *,
                      overwrite: bool = False) -> ImportReport:
    """Convert the prompt flow DAG flow in ``src_dir`` into a headrace flow.

    Args:
        src_dir: the prompt flow folder, holding ``flow.dag.yaml``.
        out_dir: where to write ``flow.yaml`` and copies of the flow's files; default ``src_dir`` itself
            (then only ``flow.yaml`` is added and Python files are rewritten in place).
        overwrite: replace an existing ``flow.yaml`` in ``out_dir``.

    Returns:
        The report: files written, warnings, and what could not be converted.

    Raises:
        FlowError: no ``flow.dag.yaml`` in ``src_dir`` (or a flex flow), or ``flow.yaml`` exists already.
        FlowDefinitionError: ``flow.dag.yaml`` is not YAML, or not shaped like a flow.

    Example:
        >>> report = import_promptflow("chat-with-wikipedia", "ask-wiki")  # doctest: +SKIP
        >>> report.unconverted  # doctest: +SKIP
        []
    """
    src = Path(src_dir).resolve()
    dag_path = _find_dag(src)
    out = Path(out_dir).resolve() if out_dir is not None else src
    target = out / "flow.yaml"
    if target.exists() and not overwrite:
        raise FlowError(f"{target} exists already; pass overwrite=True (--force) to replace it, or choose "
                        "another output folder")
    dag = _load_dag(dag_path)
    report = ImportReport()
    flow, commented = _Converter(dag, src, report).convert()
    out.mkdir(parents=True, exist_ok=True)
    copied = _copy_files(src, out, dag.get("additional_includes") or [], report)
    target.write_text(_header(dag_path, report, commented) + _dump(flow), encoding="utf-8")
    report.written.insert(0, target)
    python_files = _python_files(out, copied, in_place=out == src)
    rewritten = [p for p in python_files if rewrite_imports(p, out, report)]
    report.written.extend(p for p in rewritten if p not in report.written)
    return report


def _find_dag(src: Path) -> Path:
    for name in _DAG_NAMES:
        if (src / name).is_file():
            return src / name
    if (src / "flow.flex.yaml").is_file():
        raise FlowError(f"{src} is a flex flow (flow.flex.yaml): it needs no import; run it as it is with "
                        "`headrace flow test DIR [--init init.json]`")
    raise FlowError(f"{src} holds no flow.dag.yaml; give the folder of a prompt flow DAG flow")


def _load_dag(path: Path) -> dict[str, Any]:
    try:
        dag = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = f"{where}not valid YAML: {getattr(exc, 'problem', exc)}"
        raise FlowDefinitionError([problem], flow=str(path)) from exc
    problems = []
    if not isinstance(dag, dict):
        raise FlowDefinitionError(["the file must be a mapping with inputs, outputs and nodes"],
                                  flow=str(path))
    if not isinstance(dag.get("nodes", []), list):
        problems.append("nodes must be a list of nodes")
    else:
        for i, node in enumerate(dag.get("nodes") or []):
            if not isinstance(node, dict) or not node.get("name"):
                problems.append(f"nodes[{i}] must be a mapping with a name")
    for key in ("inputs", "outputs", "node_variants"):
        if dag.get(key) is not None and not isinstance(dag[key], dict):
            problems.append(f"{key} must be a mapping")
    if problems:
        raise FlowDefinitionError(problems, flow=str(path))
    return dag


def _refs(value: Any) -> Any:
    """``value`` with every ``${flow.x}`` reference spelled ``${inputs.x}``."""
    if isinstance(value, str):
        return _FLOW_ALIAS.sub("${inputs.", value)
    if isinstance(value, list):
        return [_refs(v) for v in value]
    if isinstance(value, dict):
        return {k: _refs(v) for k, v in value.items()}
    return value


class _Converter:
    """Turns the parsed ``flow.dag.yaml`` into the ``flow.yaml`` mapping, filling the report."""

    def __init__(self, dag: dict[str, Any], src: Path, report: ImportReport):
        self.dag = dag
        self.src = src
        self.report = report
        self.connections: list[str] = []

    def warn(self, message: str) -> None:
        self.report.warnings.append(message)

    def convert(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The ``flow.yaml`` mapping, and the original nodes that could not be converted."""
        flow = self._metadata()
        inputs, outputs = self.dag.get("inputs") or {}, self.dag.get("outputs") or {}
        flow["inputs"] = {name: self._input(name, spec) for name, spec in inputs.items()}
        flow["outputs"] = {name: self._output(name, spec) for name, spec in outputs.items()}
        nodes, commented = [], []
        for original in self.dag.get("nodes") or []:
            node = self._node(original)
            if node is None:
                commented.append(original)
            else:
                nodes.append(node)
        flow["nodes"] = nodes
        variants = self._variants({n["name"] for n in nodes})
        if variants:
            flow["node_variants"] = variants
        if self.connections:
            names = ", ".join(sorted(set(self.connections)))
            self.warn(f"LLM nodes use the connection(s) {names}: create each in headrace with `headrace "
                      "connection create NAME --type openai|azure_openai --base-url URL --api-key KEY`")
        return flow, commented

    def _metadata(self) -> dict[str, Any]:
        # compat: the flow keeps prompt flow's leniency (see FlowSpec.lenient).
        dag, flow = self.dag, {"compat": "promptflow"}
        for key in ("description", "display_name"):
            if dag.get(key):
                flow[key] = dag[key]
        if dag.get("name") and "display_name" not in flow:
            flow["display_name"] = dag["name"]
        if dag.get("type") in _FLOW_TYPES:
            flow["type"] = dag["type"]
        if dag.get("tags"):
            flow["tags"] = dag["tags"]
        if dag.get("language", "python") != "python":
            self.report.unconverted.append(f"the flow's language is {dag['language']!r}: headrace runs "
                                           "Python tools only; rewrite the tools in Python")
        env = dag.get("environment") or {}
        if env.get("python_requirements_txt"):
            self.warn(f"environment.python_requirements_txt: headrace builds no environment; install the "
                      f"requirements yourself (pip install -r {env['python_requirements_txt']})")
        if env.get("image"):
            self.warn(f"environment.image {env['image']!r} dropped: headrace runs flows in its own "
                      "environment")
        if isinstance(dag.get("environment_variables"), dict) and dag["environment_variables"]:
            flow["environment_variables"] = {str(k): "" if v is None else str(v)
                                             for k, v in dag["environment_variables"].items()}
        known = {"$schema", "id", "name", "description", "display_name", "type", "tags", "language",
                 "environment", "environment_variables", "additional_includes", "inputs", "outputs", "nodes",
                 "node_variants"}
        for key in sorted(set(dag) - known):
            self.warn(f"top-level key {key!r} dropped: headrace flows have no such setting")
        return flow

    def _input(self, name: str, spec: Any) -> dict[str, Any]:
        spec = spec if isinstance(spec, dict) else {"type": "string", "default": spec}
        kind = spec.get("type", "string")
        result: dict[str, Any] = {"type": kind}
        if kind == "file_path":
            result["type"] = "string"
            self.warn(f"input {name!r}: type file_path became string (a path the tools open themselves)")
        elif kind not in _INPUT_TYPES:
            result["type"] = "object"
            self.report.unconverted.append(f"input {name!r}: type {kind!r} has no headrace equivalent "
                                           f"(types: {', '.join(sorted(_INPUT_TYPES))}); it was written as "
                                           "object")
        for key in ("default", "description"):
            if key in spec:
                result[key] = spec[key]
        for flag in ("is_chat_input", "is_chat_history"):
            if spec.get(flag):
                result[flag] = True
        for key in sorted(set(spec) - {"type", "default", "description", "is_chat_input", "is_chat_history"}):
            self.warn(f"input {name!r}: {key!r} dropped (headrace does not check it)")
        return result

    def _output(self, name: str, spec: Any) -> dict[str, Any]:
        spec = spec if isinstance(spec, dict) else {"reference": spec}
        result: dict[str, Any] = {"type": spec.get("type", "string")}
        if "reference" not in spec:
            self.warn(f"output {name!r} has no reference: give it one, e.g. ${{NODE.output}}")
        else:
            result["reference"] = _refs(spec["reference"])
        if spec.get("description"):
            result["description"] = spec["description"]
        if spec.get("is_chat_output"):
            result["is_chat_output"] = True
        if spec.get("evaluation_only"):
            self.warn(f"output {name!r}: evaluation_only dropped; the output is always returned")
        return result

    def _node(self, original: dict[str, Any]) -> dict[str, Any] | None:
        name = original["name"]
        node = self._variant(original) if original.get("use_variants") else dict(original)
        if node is None:
            return None
        kind, source = node.get("type"), node.get("source") or {}
        tool = source.get("tool") or node.get("tool")
        if kind == "custom_llm" and tool == _BUILTIN_LLM_TOOL and source.get("path"):
            self.warn(f"node {name!r}: the built-in LLM tool ({_BUILTIN_LLM_TOOL}) became an llm node")
            kind, source = "llm", {"type": "code", "path": source["path"]}
        elif kind == "custom_llm" or source.get("type") in ("package", "package_with_prompt"):
            self.report.unconverted.append(
                f"node {name!r}: package tool {tool!r} ({kind}, source.type {source.get('type')!r}) has no "
                "headrace equivalent; write a python node (or an llm node) that does the same")
            return None
        elif kind not in ("llm", "python", "prompt"):
            self.report.unconverted.append(f"node {name!r}: type {kind!r} is not supported (llm, python, "
                                           "prompt)")
            return None
        path = source.get("path")
        if source.get("type", "code") != "code" or not path:
            self.report.unconverted.append(f"node {name!r}: needs source: {{type: code, path: FILE}}")
            return None
        if not (self.src / path).is_file():
            self.warn(f"node {name!r}: its source {path!r} is not in {self.src}; add it next to flow.yaml")
        result: dict[str, Any] = {"name": name, "type": kind, "source": {"type": "code", "path": path}}
        inputs = dict(node.get("inputs") or {})
        if kind == "llm":
            self._llm(name, node, inputs, result)
        result["inputs"] = _refs(inputs)
        if node.get("activate"):
            result["activate"] = _refs(node["activate"])
        if node.get("aggregation"):
            result["aggregation"] = True
        if node.get("enable_cache"):
            self.warn(f"node {name!r}: enable_cache dropped (headrace does not memoise nodes)")
        known = {"name", "type", "source", "inputs", "activate", "aggregation", "enable_cache",
                 "use_variants", "connection", "api", "provider", "module", "comment", "tool"}
        for key in sorted(set(node) - known):
            self.warn(f"node {name!r}: {key!r} dropped (no headrace equivalent)")
        return result

    def _llm(self, name: str, node: dict[str, Any], inputs: dict[str, Any], result: dict[str, Any]) -> None:
        connection = node.get("connection") or inputs.pop("connection", None)
        api = node.get("api") or inputs.pop("api", None) or "chat"
        inputs.pop("api", None)
        if connection:
            result["connection"] = connection
            self.connections.append(str(connection))
        else:
            self.warn(f"node {name!r}: no connection; add `connection: NAME` (a stored headrace connection)")
        if api != "chat":
            self.warn(f"node {name!r}: api {api!r} became a chat call; text before the first role line is "
                      "sent as one user message, so add '# system:' / '# user:' lines if it needs them")
        legacy = [key for key in ("provider", "module") if node.get(key)]
        if legacy:
            self.warn(f"node {name!r}: {' and '.join(legacy)} dropped (headrace takes the provider from the "
                      "connection: model for OpenAI, deployment_name for Azure OpenAI)")

    def _variant(self, original: dict[str, Any]) -> dict[str, Any] | None:
        name = original["name"]
        spec = (self.dag.get("node_variants") or {}).get(name) or {}
        variants = spec.get("variants") or {}
        chosen = spec.get("default_variant_id") or next(iter(variants), None)
        if chosen not in variants or not isinstance(variants[chosen].get("node"), dict):
            self.report.unconverted.append(f"node {name!r}: use_variants is set but node_variants has no "
                                           "default variant for it")
            return None
        return {**variants[chosen]["node"], "name": name}

    def _variants(self, converted: set[str]) -> dict[str, Any]:
        """Every variant of the converted nodes, converted like a node (``headrace.flows.variants``)."""
        result: dict[str, Any] = {}
        for name, spec in (self.dag.get("node_variants") or {}).items():
            if name not in converted or not isinstance(spec, dict):
                continue
            kept = {}
            for vid, variant in (spec.get("variants") or {}).items():
                node = variant.get("node") if isinstance(variant, dict) else None
                done = self._node({**node, "name": name}) if isinstance(node, dict) else None
                if done is None:
                    self.warn(f"node {name!r}: variant {vid!r} dropped (it could not be converted)")
                    continue
                done.pop("name")
                kept[str(vid)] = {"node": done}
            if kept:
                default = spec.get("default_variant_id") or next(iter(kept))
                result[name] = {"default_variant_id": default, "variants": kept}
        return result


def _copy_files(src: Path, out: Path, includes: list[str], report: ImportReport) -> list[Path]:
    """Copy the flow folder (without prompt flow's run folders) and its additional includes into ``out``."""
    copied: list[Path] = []
    if out != src:
        for path in sorted(src.rglob("*")):
            rel = path.relative_to(src)
            if (not path.is_file() or _SKIP & set(rel.parts) or path.suffix == ".pyc" or out in path.parents
                    or rel.as_posix() in (*_DAG_NAMES, "flow.yaml")):
                continue
            copied.append(_copy(path, out / rel))
    for include in includes:
        path = (src / include).resolve()
        if not path.exists():
            report.warnings.append(f"additional_includes: {include!r} does not exist; it was not copied")
            continue
        files = [p for p in sorted(path.rglob("*")) if p.is_file()] if path.is_dir() else [path]
        base = path.parent
        copied.extend(_copy(f, out / f.relative_to(base)) for f in files if not _SKIP & set(f.parts))
        report.warnings.append(f"additional_includes: {include!r} was copied into {out} (headrace has no "
                               "additional includes; the copy is now part of the flow)")
    report.written.extend(copied)
    return copied


def _copy(path: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if path.resolve() != dest.resolve():
        shutil.copy2(path, dest)
    return dest


def _python_files(out: Path, copied: list[Path], in_place: bool) -> list[Path]:
    if not in_place:
        return [p for p in copied if p.suffix == ".py"]
    return [p for p in sorted(out.rglob("*.py")) if not _SKIP & set(p.relative_to(out).parts)]


def _dump(flow: dict[str, Any]) -> str:
    return yaml.safe_dump(flow, sort_keys=False, allow_unicode=True, default_flow_style=False, width=110)


def _header(dag_path: Path, report: ImportReport, commented: list[dict[str, Any]]) -> str:
    lines = [f"# Converted from {dag_path.name} (prompt flow) by `headrace flow import-promptflow`."]
    if report.unconverted:
        lines.append("# NOT CONVERTED (rewrite by hand, then add the nodes below to `nodes`):")
        lines += [f"#   - {item}" for item in report.unconverted]
    for node in commented:
        lines.append(f"# original node {node['name']!r}:")
        lines += [f"#   {ln}" for ln in _dump(node).splitlines()]
    return "\n".join(lines) + "\n"
