"""The layered layout behind ``dag.dag_svg``: a frozen pipeline graph to boxes placed in rows (pure).

Each step's layer is its longest path from a source step, inputs (pipeline parameters and data paths) sit
in the row just above their first consumer, edges that skip rows get invisible bend points, and a few
barycenter sweeps order each row to reduce crossings. ``build`` makes the nodes and edges, ``add_bends``
the rows, ``order`` sorts them and ``place`` gives every node its position.
"""

from __future__ import annotations

import json
from bisect import bisect_right, insort
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from headrace.core.command_step import command_text

CHAR = 7.4  # estimated width of one character at the 13 px font dag.css sets (no font metrics here)
STEP_H, PARAM_H, DATA_H = 46.0, 26.0, 40.0
GAP_X, GAP_Y, MARGIN = 26.0, 62.0, 16.0
DUMMY_W = 10.0
SWEEPS = 4


@dataclass
class Node:
    """A box of the drawing (a step, a parameter, a data input) or an invisible bend point of a long edge."""

    id: str
    kind: str  # "step", "param", "data" or "bend"
    name: str = ""
    label: str = ""
    sub: str = ""
    title: str = ""
    width: float = DUMMY_W
    height: float = 0.0
    row: int = 0
    x: float = 0.0  # centre
    y: float = 0.0  # top


@dataclass
class Edge:
    """An arrow between two boxes, through the bend points of the rows it crosses."""

    source: str
    target: str
    kind: str  # "data" (step to step), "param" or "input"
    label: str = ""
    chain: list[str] = field(default_factory=list)  # source, bend points..., target


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending in an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _box_width(*lines: str) -> float:
    return max(110.0, min(250.0, max(len(line) for line in lines) * CHAR + 24))


def _step_layers(names: list[str], deps: dict[str, list[str]]) -> dict[str, int]:
    """Longest path from a source; a cycle (never in a valid graph) just stops counting."""
    users: dict[str, list[str]] = {n: [] for n in names}
    waiting = {n: len(deps[n]) for n in names}
    for name in names:
        for dep in deps[name]:
            users[dep].append(name)
    layer = dict.fromkeys(names, 0)
    queue = deque(n for n in names if waiting[n] == 0)
    while queue:
        name = queue.popleft()
        for user in users[name]:
            layer[user] = max(layer[user], layer[name] + 1)
            waiting[user] -= 1
            if waiting[user] == 0:
                queue.append(user)
    return layer


def _unique_steps(graph: dict) -> list[dict]:
    steps: dict[str, dict] = {}
    for step in graph.get("steps") or []:
        if isinstance(step, dict) and "name" in step:
            steps.setdefault(str(step["name"]), step)  # a repeated name (never valid) keeps the first
    return list(steps.values())


def _inputs(step: dict) -> list[str]:
    inputs = [str(i) for i in step.get("inputs") or []]
    argv = [*(step.get("arguments") or []), *(step.get("command") or [])]
    extra = [str(a["data"]) for a in argv if isinstance(a, dict) and "data" in a]
    return list(dict.fromkeys(inputs + extra))


def with_values(graph: dict, values: dict[str, Any]) -> dict:
    """A copy of ``graph`` whose parameters' defaults are the values a run used."""
    params = {name: {**spec, "default": values[name]} if name in values else spec
              for name, spec in (graph.get("parameters") or {}).items()}
    return {**graph, "parameters": params}


def build(graph: dict, word: str = "default") -> tuple[dict[str, Node], list[Edge]]:
    """The boxes (by id, each with its row) and arrows of ``graph``; ``word`` names the parameters' values."""
    steps = _unique_steps(graph)
    names = [str(s["name"]) for s in steps]
    known = set(names)
    data = graph.get("data") or {}
    params = graph.get("parameters") or {}
    outputs = {str(s["name"]): [str(o) for o in s.get("outputs") or []] for s in steps}
    nodes: dict[str, Node] = {}
    edges: list[Edge] = []
    deps: dict[str, list[str]] = {}
    for step in steps:
        name, inputs = str(step["name"]), _inputs(step)
        upstream = [str(d) for d in step.get("depends_on") or []]
        upstream += [str((data.get(i) or {}).get("producer")) for i in inputs]
        deps[name] = [d for d in dict.fromkeys(upstream) if d in known and d != name]
        for dep in deps[name]:
            edges.append(Edge("step:" + dep, "step:" + name, "data",
                               ", ".join(i for i in inputs if i in outputs[dep])))
        for item in inputs:
            entry = data.get(item) or {}
            if entry.get("kind") == "pipeline_data" and str(entry.get("producer")) in known:
                continue
            node_id = "input:" + item
            if node_id not in nodes:
                nodes[node_id] = _input_node(node_id, item, entry, params, word)
            edges.append(Edge(node_id, "step:" + name, "input"))
        for param in dict.fromkeys(str(p) for p in step.get("parameters") or []):
            spec = params.get(param) or {}
            if spec.get("type") == "datapath":
                continue  # drawn through the data input that carries it
            node_id = "param:" + param
            if node_id not in nodes:
                if "default" in spec:
                    default = json.dumps(spec["default"], default=str)
                    label = clip(f"{param} = {default}", 32)
                    what = f"Parameter {param} ({spec.get('type', '?')}), {word} {default}"
                else:  # a flow's required input: there is no value to show
                    label = clip(f"{param} (required)", 32)
                    what = f"Parameter {param} ({spec.get('type', '?')}), required"
                nodes[node_id] = Node(node_id, "param", param, label, "", what, _box_width(label) - 20, PARAM_H)
            edges.append(Edge(node_id, "step:" + name, "param"))
    layers = _step_layers(names, deps)
    for step in steps:
        name = str(step["name"])
        label = clip(name, 30)
        kind = " ".join(str(step.get(k)) for k in ("kind", "script_name") if step.get(k))
        if command_text(step):
            kind = f"command: {clip(command_text(step) or '', 60)}"
        nodes["step:" + name] = Node("step:" + name, "step", name, label, "",
                                      f"Step {name}" + (f" ({kind})" if kind else ""),
                                      _box_width(label, "● NotStarted"), STEP_H, layers[name] + 1)
    first: dict[str, int] = {}
    for edge in edges:  # an input sits in the row just above its first consumer
        if edge.kind != "data":
            row = nodes[edge.target].row - 1
            first[edge.source] = min(first.get(edge.source, row), row)
    for node_id, row in first.items():
        nodes[node_id].row = row
    if nodes and not any(n.row == 0 for n in nodes.values()):
        for node in nodes.values():
            node.row -= 1
    return nodes, edges


def _input_node(node_id: str, item: str, entry: dict, params: dict, word: str = "default") -> Node:
    kind = entry.get("kind")
    if kind == "parameter":
        default = (params.get(entry.get("parameter")) or {}).get("default")
        where = f"{default.get('datastore', '?')}/{default.get('path', '')}" if isinstance(default, dict) else "?"
        sub, what = clip(f"= {where}", 30), f"DataPath parameter {entry.get('parameter', item)}, {word} {where}"
    elif kind == "datapath":
        where = f"{entry.get('datastore', '?')}/{entry.get('path', '')}"
        sub, what = clip(where, 30), f"Data path {item}: {where}"
    else:
        sub, what = "data", f"Data {item}"
    label = clip(item, 30)
    return Node(node_id, "data", item, label, sub, what, _box_width(label, sub), DATA_H)


def add_bends(nodes: dict[str, Node], edges: list[Edge]) -> list[list[str]]:
    """Add a bend point in each row an edge crosses (setting ``Edge.chain``); returns the rows of node ids."""
    rows: list[list[str]] = [[] for _ in range(max((n.row for n in nodes.values()), default=-1) + 1)]
    for node_id, node in nodes.items():
        rows[node.row].append(node_id)
    for index, edge in enumerate(edges):
        edge.chain = [edge.source]
        for row in range(nodes[edge.source].row + 1, nodes[edge.target].row):
            bend = Node(f"bend:{index}:{row}", "bend", row=row)
            nodes[bend.id] = bend
            rows[row].append(bend.id)
            edge.chain.append(bend.id)
        edge.chain.append(edge.target)
    return rows


def _crossings(rows: list[list[str]], down: dict[str, list[str]]) -> int:
    """Edge crossings between adjacent rows (inversions of the lower ends, sorted by upper end)."""
    total = 0
    for upper, lower in zip(rows, rows[1:], strict=False):
        at = {n: i for i, n in enumerate(lower)}
        seen: list[int] = []
        for _, b in sorted((i, at[t]) for i, s in enumerate(upper) for t in down[s] if t in at):
            total += len(seen) - bisect_right(seen, b)
            insort(seen, b)
    return total


def _barycenter(row: list[str], ref: list[str], links: dict[str, list[str]]) -> list[str]:
    """Sort a row by the mean position of its neighbours in ``ref``; lone nodes keep their relative place."""
    pos = {n: i for i, n in enumerate(ref)}
    scale = len(ref) / max(1, len(row))

    def key(item: tuple[int, str]) -> float:
        near = [pos[n] for n in links[item[1]] if n in pos]
        return sum(near) / len(near) if near else item[0] * scale

    return [n for _, n in sorted(enumerate(row), key=key)]


def order(rows: list[list[str]], down: dict[str, list[str]], up: dict[str, list[str]]) -> list[list[str]]:
    """The rows reordered by barycenter sweeps: the ordering with the fewest crossings seen."""
    best, best_count = [list(r) for r in rows], _crossings(rows, down)
    for sweep in range(SWEEPS * 2):
        if sweep % 2 == 0:
            for r in range(1, len(rows)):
                rows[r] = _barycenter(rows[r], rows[r - 1], up)
        else:
            for r in range(len(rows) - 2, -1, -1):
                rows[r] = _barycenter(rows[r], rows[r + 1], down)
        count = _crossings(rows, down)
        if count < best_count:
            best, best_count = [list(r) for r in rows], count
    return best


def _spread(row: list[str], nodes: dict[str, Node], wanted: list[float]) -> None:
    """Move the row's centres toward ``wanted`` keeping their order and a gap between boxes."""
    def gap(a: Node, b: Node) -> float:
        return (a.width + b.width) / 2 + (GAP_X if a.kind != "bend" or b.kind != "bend" else 4)
    right = list(wanted)
    for i in range(1, len(row)):
        right[i] = max(right[i], right[i - 1] + gap(nodes[row[i - 1]], nodes[row[i]]))
    left = list(wanted)
    for i in range(len(row) - 2, -1, -1):
        left[i] = min(left[i], left[i + 1] - gap(nodes[row[i]], nodes[row[i + 1]]))
    xs = [(a + b) / 2 for a, b in zip(left, right, strict=True)]
    for i in range(1, len(row)):
        xs[i] = max(xs[i], xs[i - 1] + gap(nodes[row[i - 1]], nodes[row[i]]))
    for node_id, x in zip(row, xs, strict=True):
        nodes[node_id].x = x


def place(rows: list[list[str]], nodes: dict[str, Node], down: dict, up: dict) -> tuple[float, float]:
    """Set every node's ``x`` and ``y``, near its neighbours; returns the drawing's (width, height)."""
    for row in rows:
        _spread(row, nodes, [0.0] * len(row))
    for sweep in range(SWEEPS):
        links = up if sweep % 2 == 0 else down
        for row in rows if sweep % 2 == 0 else reversed(rows):
            wanted = []
            for node_id in row:
                near = [nodes[n].x for n in links[node_id]]
                wanted.append(sum(near) / len(near) if near else nodes[node_id].x)
            _spread(row, nodes, wanted)
    left = min((n.x - n.width / 2 for n in nodes.values()), default=0.0)
    top = MARGIN
    for row in rows:
        height = max((nodes[n].height for n in row), default=0.0)
        for node_id in row:
            node = nodes[node_id]
            node.x += MARGIN - left
            if node.kind == "bend":
                node.height = height  # long edges run straight down through the row
            node.y = top + (height - node.height) / 2
        top += height + GAP_Y
    width = max((n.x + n.width / 2 for n in nodes.values()), default=0.0) + MARGIN
    return max(width, 200.0), max(top - GAP_Y + MARGIN, 60.0)
