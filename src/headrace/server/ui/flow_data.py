"""The data behind the Flows and Connections pages, read through the services (no HTML here).

A published version's inputs and outputs come from the interface stored when it was published. Its
nodes and graph come from its ``flow.yaml``, read with ``load_spec`` from the snapshot's folder: that
validates without importing the flow's tools, so opening a page never runs the flow's code. The spec of
a snapshot never changes (snapshots are content-addressed), so it is read once per folder.
"""

from __future__ import annotations

import json
import pprint
import shlex
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from headrace.errors import HeadraceError
from headrace.flows.run_tags import BASE_RUN_TAG, FLOW_KIND_TAG, FLOW_TAG
from headrace.services import connections, flows
from headrace.services.bundle import Services
from headrace.storage.records import FlowVersion, PublishedFlowRecord, RunRecord

if TYPE_CHECKING:
    from headrace.flows.model import FlowSpec, NodeSpec


RECENT_RUNS = 10

EXAMPLE_VALUES = {"string": "...", "int": 1, "double": 1.0, "bool": False, "list": [], "object": {}}
"""What the snippets send for a required input, by type."""


@dataclass
class FlowRow:
    """One line of the Flows list."""

    name: str
    status: str
    description: str
    latest_version: int
    default_version: int
    versions: int
    nodes: int | None  # None when the flow's files cannot be read
    updated_at: datetime
    score_url: str


@dataclass
class VersionRow:
    version: int
    description: str
    created_at: datetime
    snapshot: str
    is_default: bool
    is_latest: bool


@dataclass
class InputRow:
    name: str
    type: str
    required: bool
    default: str  # as JSON text, "" when required
    description: str = ""
    flags: list[str] = field(default_factory=list)


@dataclass
class OutputRow:
    name: str
    type: str
    reference: str
    description: str = ""
    flags: list[str] = field(default_factory=list)


@dataclass
class NodeRow:
    name: str
    kind: str
    source: str
    uses: list[str]
    activate: str = ""
    aggregation: bool = False


@dataclass
class FlowRunRow:
    run: RunRecord
    kind: str  # "batch" or "evaluation"
    base_run: str | None


@dataclass
class ConnectionRow:
    """One line of the Connections page: never the key, only whether one is stored."""

    name: str
    type: str
    base_url: str
    context_size: int | None
    model: str | None
    has_api_key: bool
    updated_at: datetime


# -- the flow's graph, in the form server/ui/dag.py draws ---------------------------------------

def _ref_text(ref: Any) -> str:
    return ".".join((ref.name, "output", *ref.path))


def _source_text(spec_folder: Path, node: NodeSpec) -> str:
    inner = node.node if node.kind == "map" and node.node is not None else node
    target = inner.source or (inner.flow.folder if inner.flow is not None else None)
    if target is None:
        return ""
    try:
        return Path(target).relative_to(spec_folder).as_posix()
    except ValueError:
        return Path(target).name


def _kind_text(node: NodeSpec) -> str:
    kind = f"map of {node.node.kind}" if node.kind == "map" and node.node is not None else node.kind
    return f"{kind}, aggregation" if node.aggregation else kind


def flow_graph(spec: FlowSpec) -> dict[str, Any]:
    """The flow as the graph dict ``dag_svg`` draws: nodes as steps, the flow inputs they read as parameters,
    and each ``${node.output...}`` reference as a data edge labelled with the reference.

    References in ``activate.when``, ``connection``, ``context_budget`` and ``language`` are dependencies too;
    they are drawn as unlabelled edges.
    """
    from headrace.flows.graph import node_refs

    steps: list[dict[str, Any]] = []
    data: dict[str, dict[str, Any]] = {}
    outputs: dict[str, list[str]] = {n.name: [] for n in spec.nodes}
    for node in spec.nodes:
        input_refs, other_refs = node_refs(node)
        reads = [r for r in (*input_refs, *other_refs) if r.kind == "inputs" and r.name in spec.inputs]
        edges = [r for r in input_refs if r.kind == "node" and r.name in outputs]
        names = list(dict.fromkeys(_ref_text(r) for r in edges))
        for ref in edges:
            name = _ref_text(ref)
            if name not in data:
                data[name] = {"kind": "pipeline_data", "producer": ref.name}
                outputs[ref.name].append(name)
        labelled = {r.name for r in edges}
        depends = [r.name for r in other_refs if r.kind == "node" and r.name in outputs and r.name not in labelled]
        source = _source_text(spec.folder, node)
        steps.append({"name": node.name, "kind": _kind_text(node), "script_name": source, "inputs": names,
                      "outputs": outputs[node.name], "depends_on": list(dict.fromkeys(depends)),
                      "parameters": list(dict.fromkeys(r.name for r in reads))})
    parameters = {name: {"type": inp.type, **({} if inp.required else {"default": inp.default})}
                  for name, inp in spec.inputs.items()}
    return {"steps": steps, "data": data, "parameters": parameters}


def node_rows(spec: FlowSpec) -> list[NodeRow]:
    """The nodes as a table: type, source file, the nodes they use, their activation condition."""
    rows = []
    for node in spec.nodes:
        activate = ""
        if node.activate is not None:
            activate = f"when {node.activate.when} is {json.dumps(node.activate.value, default=str)}"
        rows.append(NodeRow(node.name, _kind_text(node), _source_text(spec.folder, node), sorted(node.deps),
                            activate, node.aggregation))
    return rows


def output_references(spec: FlowSpec) -> dict[str, str]:
    """Each output's reference(s) as written (a list is a fallback: the first node that ran)."""
    return {name: " or ".join(str(r) for r in out.refs) for name, out in spec.outputs.items()}


@lru_cache(maxsize=64)
def _spec_of(folder: str) -> FlowSpec:
    from headrace.flows.spec import load_spec

    return load_spec(folder)


def version_spec(svc: Services, version: FlowVersion) -> FlowSpec:
    """The spec of a published version, read from its snapshot without importing its tools.

    Raises:
        HeadraceError: the snapshot is missing or corrupt, or the flow no longer loads.
    """
    from headrace.services.flow_runtime import materialise

    return _spec_of(str(materialise(svc, version.snapshot)))


# -- pages ----------------------------------------------------------------------------------------

def score_url(base: str, name: str, version: int | None = None) -> str:
    url = f"{base}/api/v1/flows/{quote(name, safe='')}/score"
    return url if version is None else f"{url}?version={version}"


def flow_rows(svc: Services, base: str, *, query: str = "") -> list[FlowRow]:
    """Every published flow (enabled or not) whose name contains ``query`` (case-insensitive)."""
    needle = query.strip().lower()
    rows = []
    for record in flows.list_flows(svc):
        if needle not in record.name.lower():
            continue
        default = record.version()
        try:
            nodes = len(version_spec(svc, default).nodes) if default is not None else None
        except HeadraceError:
            nodes = None  # a broken snapshot costs its count, not the page
        rows.append(FlowRow(record.name, record.status.value, (default.description if default else None) or "",
                            max(v.version for v in record.versions), record.default_version, len(record.versions),
                            nodes, record.updated_at, score_url(base, record.name)))
    return rows


def version_rows(record: PublishedFlowRecord) -> list[VersionRow]:
    latest = max(v.version for v in record.versions)
    return [VersionRow(v.version, v.description or "", v.created_at, v.snapshot, v.version == record.default_version,
                       v.version == latest) for v in sorted(record.versions, key=lambda v: v.version, reverse=True)]


def input_rows(interface: dict[str, Any]) -> list[InputRow]:
    rows = []
    for name, entry in (interface.get("inputs") or {}).items():
        required = bool(entry.get("required"))
        flags = [label for key, label in (("is_chat_input", "chat input"), ("is_chat_history", "chat history"))
                 if entry.get(key)]
        rows.append(InputRow(name, str(entry.get("type", "")), required,
                             "" if required else json.dumps(entry.get("default"), ensure_ascii=False),
                             str(entry.get("description") or ""), flags))
    return rows


def output_rows(interface: dict[str, Any], references: dict[str, str]) -> list[OutputRow]:
    rows = []
    stream = interface.get("stream_output")
    for name, entry in (interface.get("outputs") or {}).items():
        flags = ["chat output"] * bool(entry.get("is_chat_output")) + ["streams"] * (name == stream)
        rows.append(OutputRow(name, str(entry.get("type") or ""), references.get(name, ""),
                              str(entry.get("description") or ""), flags))
    return rows


def flow_runs(svc: Services, name: str, *, limit: int = RECENT_RUNS) -> list[FlowRunRow]:
    """The latest batch and evaluation runs tagged with this flow's name (one filtered query)."""
    page, _ = svc.store.list_runs(tags={FLOW_TAG: name}, limit=limit)
    return [FlowRunRow(r, r.tags.get(FLOW_KIND_TAG, "batch"), r.tags.get(BASE_RUN_TAG)) for r in page]


def connection_rows(svc: Services) -> list[ConnectionRow]:
    return [ConnectionRow(v.name, v.type, v.base_url, v.context_size, v.model, v.has_api_key, v.updated_at)
            for v in connections.list_connections(svc)]


# -- ready-to-copy snippets ---------------------------------------------------------------------

def example_body(interface: dict[str, Any]) -> dict[str, Any]:
    """A score body: each input at its default, required ones at an example value of their type."""
    body = {}
    for name, entry in (interface.get("inputs") or {}).items():
        body[name] = EXAMPLE_VALUES.get(entry.get("type"), "...") if entry.get("required") else entry.get("default")
    return body


def snippets(url: str, interface: dict[str, Any]) -> dict[str, str]:
    """curl and Python (httpx) snippets scoring the flow at ``url`` with a bearer token."""
    body = example_body(interface)
    curl = (f"curl -X POST {shlex.quote(url)} \\\n"
            '  -H "Authorization: Bearer $HEADRACE_TOKEN" \\\n'
            "  -H 'Content-Type: application/json' \\\n"
            f"  -d {shlex.quote(json.dumps(body, indent=2, ensure_ascii=False))}")
    python = ("import os\n\nimport httpx\n\n"
              f"response = httpx.post(\n    {url!r},\n"
              '    headers={"Authorization": f"Bearer {os.environ[\'HEADRACE_TOKEN\']}"},\n'
              f"    json={_py(body, 9)},\n    timeout=120,\n)\n"
              "response.raise_for_status()\nprint(response.json())")
    return {"curl": curl, "python": python}


def _py(value: Any, indent: int) -> str:
    """A JSON value as Python source (True/False/None), continuation lines indented by ``indent``."""
    return pprint.pformat(value, width=100 - indent, sort_dicts=False).replace("\n", "\n" + " " * indent)
