"""A flow's ``flow.yaml`` as the graph the UI draws (``server/ui/flow_data.py``), and that graph drawn by ``dag_svg``."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from headrace.flows.spec import load_spec
from headrace.server.ui import flow_data
from headrace.server.ui.dag import dag_svg

NS = {"s": "http://www.w3.org/2000/svg"}

FLOW = """\
inputs:
  question: {type: string}
  culture: {type: string, default: en}
  unused: {type: int, default: 3}
outputs:
  answer: {reference: ["${answer.output}", "${nothing.output}"]}
  words: {reference: "${split.output.words}"}
nodes:
- {name: split, type: python, source: tools.py, function: split, inputs: {text: "${inputs.question}"}}
- name: upper
  type: map
  over: "${split.output.words}"
  item: word
  node: {type: python, source: tools.py, function: upper, inputs: {text: "${word}"}}
- name: answer
  type: prompt
  source: answer.jinja2
  activate: {when: "${split.output.found}", is: true}
  inputs: {words: "${upper.output}", culture: "${inputs.culture}"}
- name: nothing
  type: python
  source: tools.py
  function: upper
  activate: {when: "${split.output.found}", is: false}
  inputs: {text: "${inputs.question}"}
- {name: count, type: python, source: tools.py, function: count, aggregation: true,
   inputs: {answers: "${answer.output}"}}
"""
TOOLS = """\
from headrace.flows import tool

@tool
def split(text: str) -> dict:
    return {"words": text.split(), "found": bool(text.split())}

@tool
def upper(text: str) -> str:
    return text.upper()

@tool
def count(answers: list) -> int:
    return len(answers)
"""


def _spec(tmp_path: Path):
    folder = tmp_path / "qa"
    folder.mkdir()
    (folder / "flow.yaml").write_text(FLOW)
    (folder / "tools.py").write_text(TOOLS)
    (folder / "answer.jinja2").write_text("{{ culture }}: {% for w in words %}{{ w }} {% endfor %}\n")
    return load_spec(folder)


def test_nodes_become_steps_references_edges_and_inputs_parameters(tmp_path: Path) -> None:
    graph = flow_data.flow_graph(_spec(tmp_path))
    steps = {s["name"]: s for s in graph["steps"]}
    assert list(steps) == ["split", "upper", "answer", "nothing", "count"]
    # Each distinct ${node.output...} reference is one data item, produced by the node it names.
    assert graph["data"] == {
        "split.output.words": {"kind": "pipeline_data", "producer": "split"},
        "upper.output": {"kind": "pipeline_data", "producer": "upper"},
        "answer.output": {"kind": "pipeline_data", "producer": "answer"},
    }
    assert steps["split"]["outputs"] == ["split.output.words"]
    assert steps["upper"]["inputs"] == ["split.output.words"]  # a map's `over` is an input
    assert steps["answer"]["inputs"] == ["upper.output"]
    assert steps["count"]["inputs"] == ["answer.output"]
    # activate.when is a dependency without a data label; it is not repeated where a labelled edge exists.
    assert steps["answer"]["depends_on"] == ["split"] and steps["nothing"]["depends_on"] == ["split"]
    assert steps["upper"]["depends_on"] == []
    # Flow inputs are parameters of the nodes that read them; unused inputs are declared but feed nothing.
    assert steps["split"]["parameters"] == ["question"] and steps["answer"]["parameters"] == ["culture"]
    assert graph["parameters"] == {"question": {"type": "string"}, "culture": {"type": "string", "default": "en"},
                                   "unused": {"type": "int", "default": 3}}
    assert (steps["upper"]["kind"], steps["upper"]["script_name"]) == ("map of python", "tools.py")
    assert (steps["count"]["kind"], steps["answer"]["script_name"]) == ("python, aggregation", "answer.jinja2")


def test_the_graph_draws_every_node_edge_and_input(tmp_path: Path) -> None:
    svg = ET.fromstring(str(dag_svg(flow_data.flow_graph(_spec(tmp_path)), title="Nodes of flow qa")))
    steps = [g.get("data-step") for g in svg.iterfind(".//s:g[@data-step]", NS)]
    assert sorted(steps) == ["answer", "count", "nothing", "split", "upper"]
    edges = [p.find("s:title", NS).text for p in svg.iterfind(".//s:path[@class]", NS)
             if "dag-edge-data" in p.get("class")]
    assert "split.output.words: split → upper" in edges
    assert "upper.output: upper → answer" in edges and "answer.output: answer → count" in edges
    assert "split → nothing" in edges  # the activate dependency, unlabelled
    params = [g.find("s:title", NS).text for g in svg.iterfind(".//s:g", NS) if "dag-param" in (g.get("class") or "")]
    assert "Parameter culture (string), default \"en\"" in params
    assert "Parameter question (string), required" in params  # no default: not "= null"
    assert svg.find("s:desc", NS).text == "5 steps, 5 data edges, 2 inputs."


def test_node_rows_and_output_references(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    rows = {r.name: r for r in flow_data.node_rows(spec)}
    assert rows["answer"].uses == ["split", "upper"]
    assert rows["answer"].activate == "when ${split.output.found} is true"
    assert rows["count"].aggregation and rows["upper"].source == "tools.py"
    assert flow_data.output_references(spec) == {"answer": "${answer.output} or ${nothing.output}",
                                                  "words": "${split.output.words}"}


def test_snippet_body_uses_defaults_and_example_values() -> None:
    interface = {"inputs": {"question": {"type": "string", "required": True},
                            "n": {"type": "int", "required": True},
                            "culture": {"type": "string", "required": False, "default": "en"}}}
    assert flow_data.example_body(interface) == {"question": "...", "n": 1, "culture": "en"}
    snippets = flow_data.snippets("http://h/api/v1/flows/qa/score", interface)
    assert "curl -X POST http://h/api/v1/flows/qa/score" in snippets["curl"]
    assert "Bearer $HEADRACE_TOKEN" in snippets["curl"] and '"culture": "en"' in snippets["curl"]
    compile(snippets["python"], "snippet", "exec")  # valid Python
    assert "os.environ['HEADRACE_TOKEN']" in snippets["python"] and "'culture': 'en'" in snippets["python"]
