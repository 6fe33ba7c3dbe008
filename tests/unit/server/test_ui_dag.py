"""The pipeline graph drawing (``server/ui/dag.py``): layout, escaping, statuses and links, read back as XML."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET

from headrace.server.ui.dag import dag_svg

NS = {"s": "http://www.w3.org/2000/svg"}


def _step(name: str, inputs=(), outputs=(), depends_on=(), parameters=()) -> dict:
    return {"name": name, "kind": "python_script", "script_name": f"{name}.py", "inputs": list(inputs),
            "outputs": list(outputs), "depends_on": list(depends_on), "parameters": list(parameters),
            "arguments": []}


def diamond() -> dict:
    """prep -> (left, right) -> join, plus a scalar parameter, a DataPath parameter and a literal data path."""
    return {
        "format": 1,
        "description": None,
        "parameters": {"n": {"type": "int", "default": 10},
                       "input_data": {"type": "datapath", "default": {"datastore": "ws", "path": "raw/data.csv"}}},
        "data": {"input_data": {"kind": "parameter", "parameter": "input_data", "mode": "mount"},
                 "lookup": {"kind": "datapath", "datastore": "ws", "path": "ref/lookup.csv", "mode": "mount"},
                 "prepared": {"kind": "pipeline_data", "datastore": None, "producer": "prep"},
                 "l_out": {"kind": "pipeline_data", "datastore": None, "producer": "left"},
                 "r_out": {"kind": "pipeline_data", "datastore": None, "producer": "right"}},
        "steps": [
            _step("prep", ["input_data"], ["prepared"], [], ["n", "input_data"]),
            _step("left", ["prepared"], ["l_out"], ["prep"]),
            _step("right", ["prepared", "lookup"], ["r_out"], ["prep"]),
            _step("join", ["l_out", "r_out"], [], ["left", "right"], ["n"]),
        ],
    }


def tag(name: str) -> str:
    return f"{{{NS['s']}}}{name}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def steps(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-step"): g for g in root.iter(tag("g")) if "dag-step" in g.get("class", "")}


def box(group: ET.Element) -> tuple[float, float, float, float]:
    rect = group.find("s:rect", NS)
    return tuple(float(rect.get(k)) for k in ("x", "y", "width", "height"))  # type: ignore[return-value]


def test_one_group_per_step_in_longest_path_layers() -> None:
    root = parse(dag_svg(diamond()))
    found = steps(root)
    assert set(found) == {"prep", "left", "right", "join"}
    y = {name: box(g)[1] for name, g in found.items()}
    assert y["prep"] < y["left"] == y["right"] < y["join"]
    assert root.get("role") == "group"
    assert root.find("s:title", NS).text == "Pipeline graph"
    assert "4 steps" in root.find("s:desc", NS).text


def test_edges_are_labelled_with_the_data_names() -> None:
    root = parse(dag_svg(diamond()))
    labels = [t.text for t in root.iter(tag("text")) if t.get("class") == "dag-edge-label"]
    assert sorted(labels) == ["l_out", "prepared", "prepared", "r_out"]
    kinds = [p.get("class") for p in root.iter(tag("path")) if "dag-edge" in p.get("class", "")]
    assert kinds.count("dag-edge dag-edge-data") == 4
    assert kinds.count("dag-edge dag-edge-param") == 2  # n feeds prep and join
    assert kinds.count("dag-edge dag-edge-input") == 2  # input_data -> prep, lookup -> right


def test_inputs_are_nodes_just_above_their_first_consumer() -> None:
    root = parse(dag_svg(diamond()))
    groups = list(root.iter(tag("g")))
    params = [g for g in groups if "dag-param" in g.get("class", "")]
    inputs = {g.get("aria-label"): g for g in groups if "dag-input" in g.get("class", "")}
    assert [g.find("s:text", NS).text for g in params] == ["n = 10"]
    assert set(inputs) == {"DataPath parameter input_data, default ws/raw/data.csv", "Data path lookup: ws/ref/lookup.csv"}
    found = steps(root)
    prep_top, right_top = box(found["prep"])[1], box(found["right"])[1]
    param_top = box(params[0])[1]
    lookup_top = box(inputs["Data path lookup: ws/ref/lookup.csv"])[1]
    assert param_top < prep_top
    assert prep_top < lookup_top < right_top  # in the row between prep and right, not at the top


def test_statuses_are_text_with_a_mark_and_a_class() -> None:
    root = parse(dag_svg(diamond(), statuses={"prep": "Finished", "left": "Failed", "right": "NotStarted"}))
    found = steps(root)
    assert "dag-status-finished" in found["prep"].get("class")
    assert "dag-status-notstarted" in found["right"].get("class")
    texts = {name: [t.text for t in g.iter(tag("text"))] for name, g in found.items()}
    assert texts["prep"] == ["prep", "✓ Finished"]
    assert texts["left"] == ["left", "✗ Failed"]
    assert texts["join"] == ["join"]  # no status given: just the name
    assert found["left"].get("aria-label") == "Step left (python_script left.py): Failed"


def test_links_wrap_the_box_and_unsafe_urls_are_dropped() -> None:
    svg = dag_svg(diamond(), links={"prep": "/runs/r1/steps/prep?x=1&y=2", "left": "javascript:alert(1)"})
    root = parse(svg)
    anchors = list(root.iter(tag("a")))
    assert [a.get("href") for a in anchors] == ["/runs/r1/steps/prep?x=1&y=2"]
    assert anchors[0].find("s:g", NS).get("data-step") == "prep"
    assert "javascript" not in svg


def test_every_name_is_escaped() -> None:
    evil = '<script>alert("x")</script> & \'q\' %s %(x)d'
    graph = diamond()
    graph["steps"][0]["name"] = evil
    graph["data"]["prepared"]["producer"] = evil
    for s in graph["steps"][1:3]:
        s["depends_on"] = [evil]
    graph["parameters"]['n"><b'] = {"type": "str", "default": "<i>"}
    graph["steps"][3]["parameters"] = ['n"><b']
    svg = dag_svg(graph, statuses={evil: "<Running>"}, links={evil: '/x"onclick="y'}, title="<T>")
    assert "<script" not in svg and "<i>" not in svg and '"><b' not in svg
    root = parse(svg)  # well-formed: nothing leaked into the markup
    assert evil in steps(root)
    assert root.find("s:title", NS).text == "<T>"
    assert not [e for e in root.iter() if e.tag.endswith(("script", "}b", "}i"))]
    assert [a.get("href") for a in root.iter(tag("a"))] == ['/x"onclick="y']


def test_output_is_deterministic_and_ids_differ_per_graph() -> None:
    assert dag_svg(diamond()) == dag_svg(diamond())
    other = diamond()
    other["steps"].pop()
    assert parse(dag_svg(diamond())).get("id") != parse(dag_svg(other)).get("id")


def test_empty_graph_says_so() -> None:
    root = parse(dag_svg({"format": 1, "parameters": {}, "data": {}, "steps": []}))
    assert "No steps" in [t.text for t in root.iter(tag("text"))]


def test_a_big_graph_keeps_order_within_rows_without_overlap() -> None:
    rnd = random.Random(7)
    data, graph_steps = {}, []
    for i in range(150):
        ups = rnd.sample(range(max(0, i - 10), i), min(i, rnd.randint(1, 3))) if i else []
        data[f"o{i}"] = {"kind": "pipeline_data", "datastore": None, "producer": f"s{i}"}
        graph_steps.append(_step(f"s{i}", [f"o{j}" for j in ups], [f"o{i}"], [f"s{j}" for j in ups]))
    root = parse(dag_svg({"format": 1, "parameters": {}, "data": data, "steps": graph_steps}))
    found = steps(root)
    assert len(found) == 150
    rows: dict[float, list[tuple[float, float]]] = {}
    for g in found.values():
        x, y, w, _ = box(g)
        rows.setdefault(y, []).append((x, x + w))
    for spans in rows.values():
        spans.sort()
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))
    # every producer is drawn above each of its consumers
    for s in graph_steps:
        for dep in s["depends_on"]:
            assert box(found[dep])[1] < box(found[s["name"]])[1]
    width = float(root.get("width"))
    assert all(0 <= box(g)[0] and box(g)[0] + box(g)[2] <= width for g in found.values())


def test_a_runs_parameter_values_replace_the_defaults() -> None:
    graph = {
        "parameters": {"epochs": {"type": "int", "default": 200},
                       "data": {"type": "datapath", "default": {"datastore": "ws", "path": "a.csv"}}},
        "data": {"input": {"kind": "parameter", "parameter": "data"}},
        "steps": [{"name": "train", "inputs": ["input"], "parameters": ["epochs", "data"], "outputs": []}],
    }
    shown = str(dag_svg(graph, parameter_values={"epochs": 300, "data": {"datastore": "ws", "path": "b.csv"}}))
    assert "epochs = 300" in shown and "value 300" in shown and "ws/b.csv" in shown
    assert "epochs = 200" not in shown and "a.csv" not in shown
    assert "epochs = 200" in str(dag_svg(graph))
