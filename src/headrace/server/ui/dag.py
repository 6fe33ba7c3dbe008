"""Draw a frozen pipeline graph as an inline, accessible SVG (pure: no I/O, deterministic).

The layout is the classic layered one: each step's layer is its longest path from a source step,
inputs (pipeline parameters and data paths) sit in the row just above their first consumer, edges
that skip rows get invisible bend points, and a few barycenter sweeps order each row to reduce
crossings. Styles live in ``static/dag.css``; the status of a step is written in its box (text and a
mark), with a ``dag-status-<status>`` class for colour, so it never relies on colour alone.
"""

from __future__ import annotations

import hashlib
import json
import re
from bisect import bisect_right, insort
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

CHAR = 7.4  # estimated width of one character at the 13 px font dag.css sets (no font metrics here)
STEP_H, PARAM_H, DATA_H = 46.0, 26.0, 40.0
GAP_X, GAP_Y, MARGIN = 26.0, 62.0, 16.0
DUMMY_W = 10.0
SWEEPS = 4
MARKS = {"finished": "✓", "failed": "✗", "running": "●", "queued": "●", "canceled": "⏸", "reused": "↺",
         "notstarted": "○"}
SAFE_LINK = re.compile(r"^(/|#|\?|https?://)", re.IGNORECASE)


@dataclass
class _Node:
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
class _Edge:
    source: str
    target: str
    kind: str  # "data" (step to step), "param" or "input"
    label: str = ""
    chain: list[str] = field(default_factory=list)  # source, bend points..., target


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _box_width(*lines: str) -> float:
    return max(110.0, min(250.0, max(len(line) for line in lines) * CHAR + 24))


def _status_slug(status: str) -> str:
    return re.sub(r"[^a-z0-9]", "", status.lower()) or "unknown"


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
    extra = [str(a["data"]) for a in step.get("arguments") or [] if isinstance(a, dict) and "data" in a]
    return list(dict.fromkeys(inputs + extra))


def _with_values(graph: dict, values: dict[str, Any]) -> dict:
    """A copy of ``graph`` whose parameters' defaults are the values a run used."""
    params = {name: {**spec, "default": values[name]} if name in values else spec
              for name, spec in (graph.get("parameters") or {}).items()}
    return {**graph, "parameters": params}


def _build(graph: dict, word: str = "default") -> tuple[dict[str, _Node], list[_Edge]]:
    steps = _unique_steps(graph)
    names = [str(s["name"]) for s in steps]
    known = set(names)
    data = graph.get("data") or {}
    params = graph.get("parameters") or {}
    outputs = {str(s["name"]): [str(o) for o in s.get("outputs") or []] for s in steps}
    nodes: dict[str, _Node] = {}
    edges: list[_Edge] = []
    deps: dict[str, list[str]] = {}
    for step in steps:
        name, inputs = str(step["name"]), _inputs(step)
        upstream = [str(d) for d in step.get("depends_on") or []]
        upstream += [str((data.get(i) or {}).get("producer")) for i in inputs]
        deps[name] = [d for d in dict.fromkeys(upstream) if d in known and d != name]
        for dep in deps[name]:
            edges.append(_Edge("step:" + dep, "step:" + name, "data",
                               ", ".join(i for i in inputs if i in outputs[dep])))
        for item in inputs:
            entry = data.get(item) or {}
            if entry.get("kind") == "pipeline_data" and str(entry.get("producer")) in known:
                continue
            node_id = "input:" + item
            if node_id not in nodes:
                nodes[node_id] = _input_node(node_id, item, entry, params, word)
            edges.append(_Edge(node_id, "step:" + name, "input"))
        for param in dict.fromkeys(str(p) for p in step.get("parameters") or []):
            spec = params.get(param) or {}
            if spec.get("type") == "datapath":
                continue  # drawn through the data input that carries it
            node_id = "param:" + param
            if node_id not in nodes:
                default = json.dumps(spec.get("default"), default=str)
                label = _clip(f"{param} = {default}", 32)
                what = f"Parameter {param} ({spec.get('type', '?')}), {word} {default}"
                nodes[node_id] = _Node(node_id, "param", param, label, "", what, _box_width(label) - 20, PARAM_H)
            edges.append(_Edge(node_id, "step:" + name, "param"))
    layers = _step_layers(names, deps)
    for step in steps:
        name = str(step["name"])
        label = _clip(name, 30)
        kind = " ".join(str(step.get(k)) for k in ("kind", "script_name") if step.get(k))
        nodes["step:" + name] = _Node("step:" + name, "step", name, label, "",
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


def _input_node(node_id: str, item: str, entry: dict, params: dict, word: str = "default") -> _Node:
    kind = entry.get("kind")
    if kind == "parameter":
        default = (params.get(entry.get("parameter")) or {}).get("default")
        where = f"{default.get('datastore', '?')}/{default.get('path', '')}" if isinstance(default, dict) else "?"
        sub, what = _clip(f"= {where}", 30), f"DataPath parameter {entry.get('parameter', item)}, {word} {where}"
    elif kind == "datapath":
        where = f"{entry.get('datastore', '?')}/{entry.get('path', '')}"
        sub, what = _clip(where, 30), f"Data path {item}: {where}"
    else:
        sub, what = "data", f"Data {item}"
    label = _clip(item, 30)
    return _Node(node_id, "data", item, label, sub, what, _box_width(label, sub), DATA_H)


def _add_bends(nodes: dict[str, _Node], edges: list[_Edge]) -> list[list[str]]:
    rows: list[list[str]] = [[] for _ in range(max((n.row for n in nodes.values()), default=-1) + 1)]
    for node_id, node in nodes.items():
        rows[node.row].append(node_id)
    for index, edge in enumerate(edges):
        edge.chain = [edge.source]
        for row in range(nodes[edge.source].row + 1, nodes[edge.target].row):
            bend = _Node(f"bend:{index}:{row}", "bend", row=row)
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


def _order(rows: list[list[str]], down: dict[str, list[str]], up: dict[str, list[str]]) -> list[list[str]]:
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


def _spread(row: list[str], nodes: dict[str, _Node], wanted: list[float]) -> None:
    """Move the row's centres toward ``wanted`` keeping their order and a gap between boxes."""
    def gap(a: _Node, b: _Node) -> float:
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


def _place(rows: list[list[str]], nodes: dict[str, _Node], down: dict, up: dict) -> tuple[float, float]:
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


def _f(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _ports(nodes: dict[str, _Node], edges: list[_Edge]) -> dict[tuple[int, str], float]:
    """Spread the ends of a box's edges along its top (incoming) or bottom (outgoing) side."""
    ends: dict[tuple[str, str], list[tuple[float, int]]] = {}
    for index, edge in enumerate(edges):
        ends.setdefault((edge.chain[0], "out"), []).append((nodes[edge.chain[1]].x, index))
        ends.setdefault((edge.chain[-1], "in"), []).append((nodes[edge.chain[-2]].x, index))
    ports: dict[tuple[int, str], float] = {}
    for (node_id, side), items in ends.items():
        node = nodes[node_id]
        usable = node.width * 0.7
        for i, (_, index) in enumerate(sorted(items)):
            ports[(index, side)] = node.x - usable / 2 + usable * (i + 1) / (len(items) + 1)
    return ports


def _edge_svg(edge: _Edge, index: int, nodes: dict[str, _Node], ports: dict, arrow: str) -> str:
    first, last = nodes[edge.chain[0]], nodes[edge.chain[-1]]
    points = [(ports[(index, "out")], first.y + first.height)]
    for bend_id in edge.chain[1:-1]:
        bend = nodes[bend_id]
        points += [(bend.x, bend.y), (bend.x, bend.y + bend.height)]
    points.append((ports[(index, "in")], last.y))
    parts = [f"M{_f(points[0][0])},{_f(points[0][1])}"]
    for i in range(1, len(points)):
        (x1, y1), (x2, y2) = points[i - 1], points[i]
        if x1 == x2 and i % 2 == 0 and i < len(points) - 1:
            parts.append(f"L{_f(x2)},{_f(y2)}")
        else:
            mid = (y1 + y2) / 2
            parts.append(f"C{_f(x1)},{_f(mid)} {_f(x2)},{_f(mid)} {_f(x2)},{_f(y2)}")
    what = f"{edge.label}: {first.name} → {last.name}" if edge.label else f"{first.name} → {last.name}"
    out = (f'<path class="dag-edge dag-edge-{edge.kind}" d="{" ".join(parts)}" marker-end="url(#{arrow})">'
           f"<title>{escape(what)}</title></path>")
    if edge.label:
        (x1, y1), (x2, y2) = points[-2], points[-1]
        out += (f'<text class="dag-edge-label" x="{_f((x1 + x2) / 2)}" y="{_f((y1 + y2) / 2 + 4)}" '
                f'text-anchor="middle">{escape(_clip(edge.label, 24))}</text>')
    return out


def _text(x: float, y: float, css: str, text: str) -> str:
    return f'<text x="{_f(x)}" y="{_f(y)}" text-anchor="middle" class="{css}">{escape(text)}</text>'


def _node_svg(node: _Node, status: str | None, link: str | None) -> str:
    box = (f'<rect x="{_f(node.x - node.width / 2)}" y="{_f(node.y)}" width="{_f(node.width)}" '
           f'height="{_f(node.height)}" rx="{_f(node.height / 2 if node.kind == "param" else 6)}"/>')
    described, attrs = node.title, ""
    if node.kind == "param":
        css, body = "dag-param", _text(node.x, node.y + 17, "dag-param-text", node.label)
    elif node.kind == "data":
        css = "dag-input"
        body = _text(node.x, node.y + 17, "dag-name", node.label) + _text(node.x, node.y + 32, "dag-sub", node.sub)
    else:
        slug = _status_slug(status) if status else "none"
        css, attrs = f"dag-step dag-status-{slug}", f' data-step="{escape(node.name)}"'
        body = _text(node.x, node.y + (19 if status else 28), "dag-name", node.label)
        if status:
            body += _text(node.x, node.y + 36, "dag-status-text", f"{MARKS.get(slug, '•')} {_clip(status, 16)}")
            described += f": {status}"
    label = f' aria-label="{escape(described)}"'
    if link and SAFE_LINK.match(link):
        return (f'<a href="{escape(link)}" class="dag-link"{label}><g class="dag-node {css}"{attrs}>'
                f"<title>{escape(described)}</title>{box}{body}</g></a>")
    return f'<g class="dag-node {css}"{attrs} role="img"{label}><title>{escape(described)}</title>{box}{body}</g>'


def dag_svg(graph: dict, *, statuses: dict[str, str] | None = None, links: dict[str, str] | None = None,
            title: str = "Pipeline graph", parameter_values: dict[str, Any] | None = None) -> Markup:
    """An inline accessible SVG of a frozen pipeline graph (the dict stored in PipelineRecord.graph; format in
    src/headrace/core/graph.py): one box per step (name; plus its status text when `statuses` gives one, e.g.
    "Running", "Finished", "Failed", "Reused", "Queued", "Canceled", "NotStarted"), arrows for data edges labelled
    with the data name, pipeline parameters listed as small inputs feeding the steps that use them, data path
    inputs as their own nodes. `links` maps a step name to a URL (the box becomes an <a>). Status is shown as text
    and a CSS class `dag-status-<lower>` (never colour alone). Layered layout: layer = longest path from a source;
    order within a layer to reduce crossings (a barycenter pass is enough); deterministic output.

    Args:
        graph: the frozen graph dict.
        statuses: step name to status text.
        links: step name to URL (relative, ``#``/``?`` or http(s); anything else is ignored).
        title: the drawing's accessible name.
        parameter_values: the values a run used (parameter name -> value; a data path as
            ``{"datastore", "path"}``), shown instead of the defaults.

    Returns:
        The ``<svg>`` element, safe to insert in a template.
    """
    statuses, links = statuses or {}, links or {}
    if parameter_values:
        graph = _with_values(graph, parameter_values)
    nodes, edges = _build(graph, "value" if parameter_values else "default")
    rows = _add_bends(nodes, edges)
    down: dict[str, list[str]] = {n: [] for n in nodes}
    up: dict[str, list[str]] = {n: [] for n in nodes}
    for edge in edges:
        for a, b in zip(edge.chain, edge.chain[1:], strict=False):
            down[a].append(b)
            up[b].append(a)
    rows = _order(rows, down, up)
    width, height = _place(rows, nodes, down, up)
    seed = json.dumps([graph, statuses, links, title], sort_keys=True, default=str)
    uid = "dag-" + hashlib.sha1(seed.encode(), usedforsecurity=False).hexdigest()[:10]
    steps = [n for n in nodes.values() if n.kind == "step"]
    inputs = sum(1 for n in nodes.values() if n.kind in ("param", "data"))
    summary = f"{len(steps)} steps, {sum(e.kind == 'data' for e in edges)} data edges, {inputs} inputs."
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="dag" id="{uid}" width="{_f(width)}" '
           f'height="{_f(height)}" viewBox="0 0 {_f(width)} {_f(height)}" role="group" '
           f'aria-labelledby="{uid}-title" aria-describedby="{uid}-desc">',
           f'<title id="{uid}-title">{escape(title)}</title><desc id="{uid}-desc">{escape(summary)}</desc>',
           f'<defs><marker id="{uid}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" '
           f'markerHeight="9" markerUnits="userSpaceOnUse" orient="auto"><path class="dag-arrowhead" d="M0,0 L10,5 L0,10 z"/></marker></defs>']
    if not steps:
        out.append(f'<text x="{_f(width / 2)}" y="34" text-anchor="middle" class="dag-sub">No steps</text>')
    ports = _ports(nodes, edges)
    out.append('<g class="dag-edges" aria-hidden="true">')
    out += [_edge_svg(edge, i, nodes, ports, f"{uid}-arrow") for i, edge in enumerate(edges)]
    out.append('</g><g class="dag-nodes">')
    for row in rows:
        for node_id in row:
            node = nodes[node_id]
            if node.kind != "bend":
                is_step = node.kind == "step"
                out.append(_node_svg(node, statuses.get(node.name) if is_step else None,
                                     links.get(node.name) if is_step else None))
    out.append("</g></svg>")
    return Markup("".join(out))
