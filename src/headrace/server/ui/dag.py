"""Draw a frozen pipeline graph as an inline, accessible SVG (pure: no I/O, deterministic).

The layout is the classic layered one (``dag_layout``). Styles live in ``static/dag.css``; the status of a
step is written in its box (text and a mark), with a ``dag-status-<status>`` class for colour, so it never
relies on colour alone.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from markupsafe import Markup, escape

from headrace.server.ui.dag_layout import Edge, Node, add_bends, build, clip, order, place, with_values

MARKS = {"finished": "✓", "failed": "✗", "running": "●", "queued": "●", "canceled": "⏸", "reused": "↺",
         "notstarted": "○"}
SAFE_LINK = re.compile(r"^(/|#|\?|https?://)", re.IGNORECASE)


def _status_slug(status: str) -> str:
    return re.sub(r"[^a-z0-9]", "", status.lower()) or "unknown"


def _f(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _ports(nodes: dict[str, Node], edges: list[Edge]) -> dict[tuple[int, str], float]:
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


def _edge_svg(edge: Edge, index: int, nodes: dict[str, Node], ports: dict, arrow: str) -> str:
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
                f'text-anchor="middle">{escape(clip(edge.label, 24))}</text>')
    return out


def _text(x: float, y: float, css: str, text: str) -> str:
    return f'<text x="{_f(x)}" y="{_f(y)}" text-anchor="middle" class="{css}">{escape(text)}</text>'


def _node_svg(node: Node, status: str | None, link: str | None) -> str:
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
            body += _text(node.x, node.y + 36, "dag-status-text", f"{MARKS.get(slug, '•')} {clip(status, 16)}")
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
        graph = with_values(graph, parameter_values)
    nodes, edges = build(graph, "value" if parameter_values else "default")
    rows = add_bends(nodes, edges)
    down: dict[str, list[str]] = {n: [] for n in nodes}
    up: dict[str, list[str]] = {n: [] for n in nodes}
    for edge in edges:
        for a, b in zip(edge.chain, edge.chain[1:], strict=False):
            down[a].append(b)
            up[b].append(a)
    rows = order(rows, down, up)
    width, height = place(rows, nodes, down, up)
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
