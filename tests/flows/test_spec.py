"""flow.yaml loading and validation, input coercion, references, tool parameter conversion."""

from __future__ import annotations

from typing import Optional

import pytest

from headrace.errors import FlowDefinitionError, FlowInputError, FlowNodeError
from headrace.flows.refs import (
    Ref,
    RefSyntaxError,
    Scope,
    apply_column_mapping,
    parse_ref,
    resolve,
    resolve_value,
)
from headrace.flows.spec import coerce_inputs, load_spec
from headrace.flows.tools import call_args, scan_tools

TOOLS = """\
from headrace.flows import tool

@tool
def pages(n: int) -> list[dict]:
    return [{"text": f"page {i}"} for i in range(n)]

@tool
def upper(text: str, i: int = 0) -> str:
    return text.upper()
"""

GOOD = {
    "flow.yaml": """\
        description: demo
        type: chat
        inputs:
          question: {type: string, is_chat_input: true}
          n: {type: int, default: 2}
          flag: {type: bool, default: false}
          opts: {type: object, default: {}}
        outputs:
          answer: {reference: "${answer.output}", is_chat_output: true}
          first: {reference: "${pages.output.0.text}"}
          either: {reference: ["${a.output}", "${b.output}"]}
        nodes:
        - name: pages
          type: python
          source: {type: code, path: tools.py}
          function: pages
          inputs: {n: ${inputs.n}}
        - name: each
          type: map
          over: ${pages.output}
          item: page
          concurrency: 3
          node:
            type: python
            source: tools.py
            function: upper
            inputs: {text: "${page.text}", i: "${index}"}
        - name: answer
          type: llm
          source: {type: code, path: answer.jinja2}
          connection: llm
          context_budget: ${inputs.n}
          inputs: {model: m, temperature: 0, question: "${inputs.question}", texts: "${each.output}"}
        - name: a
          type: prompt
          source: answer.jinja2
          activate: {when: "${inputs.flag}", is: true}
          inputs: {question: q, texts: []}
        - name: b
          type: prompt
          source: answer.jinja2
          activate: {when: "${inputs.flag}", is: false}
          inputs: {question: q, texts: []}
        - name: sub
          type: flow
          path: ./child
          inputs: {x: "${a.output}"}
        """,
    "tools.py": TOOLS,
    "answer.jinja2": "# user:\n{{ question }} {{ texts }}\n",
    "child/flow.yaml": """\
        inputs: {x: {type: string}}
        outputs: {y: {reference: "${echo.output}"}}
        nodes:
        - {name: echo, type: prompt, source: echo.jinja2, inputs: {x: "${inputs.x}"}}
        """,
    "child/echo.jinja2": "{{ x }}",
}


def test_a_valid_flow_loads_into_dataclasses(write_flow):
    spec = load_spec(write_flow("good", GOOD))
    assert spec.type == "chat" and spec.description == "demo"
    assert [n.name for n in spec.nodes] == ["pages", "each", "answer", "a", "b", "sub"]
    assert spec.inputs["n"].default == 2 and not spec.inputs["n"].required and spec.inputs["question"].required
    each = spec.node("each")
    assert (each.kind, each.item, each.concurrency, each.node.kind, each.deps) == ("map", "page", 3, "python",
                                                                                    frozenset({"pages"}))
    answer = spec.node("answer")
    assert answer.connection == "llm" and answer.context_budget == "${inputs.n}" and answer.deps == {"each"}
    assert spec.node("a").activate.when == "${inputs.flag}" and spec.node("a").activate.value is True
    assert spec.node("sub").flow.outputs["y"].refs == [Ref("node", "echo", (), "${echo.output}")]
    assert [r.name for r in spec.outputs["either"].refs] == ["a", "b"]
    assert spec.stream_output == "answer"


BAD = {
    "flow.yaml": """\
        inputs:
          q: {type: strin}
          n: {type: int, default: abc}
        outputs:
          a: {type: string}
          b: {reference: "${nope.output}"}
          c: {reference: "${agg.output}"}
        nodes:
        - {name: x, type: pythn}
        - {name: dup, type: python, source: {type: code, path: missing.py}}
        - {name: dup, type: prompt, source: t.jinja2, inputs: {y: "${inputs.zz}"}}
        - {name: c1, type: python, source: notool.py, inputs: {v: "${c2.output}"}}
        - {name: c2, type: python, source: two.py, function: f, inputs: {v: "${c1.output}"}}
        - {name: act, type: python, source: two.py, inputs: {v: 1, w: 2}, activate: {when: "${inputs.q}"}}
        - {name: m, type: map, node: {type: python, source: two.py, function: f, inputs: {v: 1}}}
        - {name: s, type: flow, path: no_yaml}
        - {name: agg, type: python, source: two.py, function: f, aggregation: true, inputs: {v: 1}}
        - {name: uses_agg, type: python, source: two.py, function: g, inputs: {v: "${agg.output}"}}
        - {name: l, type: llm, source: vars.jinja2, inputs: {model: x, y: "${foo}"}}
        - {name: mapx, type: map, over: [1, 2], item: inputs, node: {type: prompt, source: vars.jinja2}}
        """,
    "notool.py": "def f(v):\n    return v\n",
    "two.py": "from headrace.flows import tool\n@tool\ndef f(v):\n    return v\n@tool\ndef g(v, extra):\n    return v\n",
    "t.jinja2": "{{ y }}\n{% if %}",
    "vars.jinja2": "{{ y }} {{ z }}",
    "no_yaml/readme.txt": "nothing",
}

EXPECTED = [
    "input 'q': type 'strin' is not one of string, int, double, bool, list, object",
    "input 'n': the default does not fit type int: expected an integer, got str 'abc'",
    "output 'a': no reference; add reference: ${NODE.output}",
    "output 'b': ${nope.output} refers to an unknown node 'nope'",
    "output 'c': refers to aggregation node 'agg'",
    "node 'x': type 'pythn' is not one of python, llm, prompt, prompty, map, flow",
    "node 'dup': source file 'missing.py' does not exist",
    "node 'dup': t.jinja2, line 2: template syntax error",
    "node 'dup': the name is used by 2 nodes",
    "node 'dup': ${inputs.zz} refers to an unknown input 'zz'",
    "node 'c1': notool.py has no @tool function; decorate the entry function with @tool",
    "nodes c1 -> c2 -> c1 form a cycle",
    "node 'act': two.py has 2 @tool functions (f, g); say which with function: NAME",
    "node 'act': activate needs both `when` (a reference) and `is` (the value to match)",
    "node 'm': a map needs over: ${NODE.output}",
    "node 's': sub-flow folder 'no_yaml' has no flow.yaml",
    "node 'uses_agg': g() needs 'extra'",
    "node 'uses_agg': uses aggregation node 'agg', which runs once per batch",
    "node 'l': no connection; add connection: NAME",
    "node 'l': ${foo}: not a reference; use ${inputs.NAME}, ${NODE.output} or ${NODE.output.KEY}",
    "node 'l': vars.jinja2 uses z but the node's inputs do not give it",
    "node 'mapx': item 'inputs' must be a plain name other than inputs, index or flow",
    "map node 'mapx', inner node: vars.jinja2 uses y, z but the node's inputs do not give them",
]


def test_every_problem_is_listed_at_once_naming_the_node(write_flow):
    folder = write_flow("bad", BAD)
    with pytest.raises(FlowDefinitionError) as info:
        load_spec(folder)
    problems = info.value.problems
    for expected in EXPECTED:
        assert any(expected in p for p in problems), f"missing: {expected}\n" + "\n".join(problems)
    assert len(problems) == len(EXPECTED), "\n".join(problems)
    assert info.value.flow == str(folder.resolve() / "flow.yaml")


def test_yaml_errors_give_the_line(write_flow):
    folder = write_flow("yaml", {"flow.yaml": "inputs:\n  q: {type: string\nnodes: []\n"})
    with pytest.raises(FlowDefinitionError, match=r"line \d+, column \d+: YAML syntax error"):
        load_spec(folder)


def test_a_folder_without_flow_yaml_says_so_and_points_prompt_flow_users_to_import(write_flow):
    folder = write_flow("pf", {"flow.dag.yaml": "nodes: []"})
    with pytest.raises(FlowDefinitionError, match="no flow.yaml in .*headrace flow import-promptflow"):
        load_spec(folder)


def test_a_sub_flow_cannot_include_itself_and_its_problems_are_prefixed(write_flow):
    folder = write_flow("rec", {
        "flow.yaml": "outputs: {}\nnodes:\n- {name: me, type: flow, path: .}\n- {name: c, type: flow, path: child}\n",
        "child/flow.yaml": "nodes:\n- {name: z, type: nope}\n",
    })
    with pytest.raises(FlowDefinitionError) as info:
        load_spec(folder)
    assert info.value.problems == ["node 'me': sub-flow '.' includes itself (flows cannot recurse)",
                                   "node 'c': sub-flow 'child': node 'z': type 'nope' is not one of python, llm, "
                                   "prompt, prompty, map, flow"]


def test_inputs_are_converted_by_type(write_flow):
    spec = load_spec(write_flow("good", GOOD))
    assert coerce_inputs(spec, {"question": "q", "n": "7", "flag": "TRUE", "opts": '{"a": [1]}'}) == {
        "question": "q", "n": 7, "flag": True, "opts": {"a": [1]}}
    assert coerce_inputs(spec, {"question": "q"}) == {"question": "q", "n": 2, "flag": False, "opts": {}}
    assert coerce_inputs(spec, {"question": "q", "n": 3.0})["n"] == 3


@pytest.mark.parametrize(("raw", "message"), [
    ({}, "input 'question': missing; this string input has no default"),
    ({"question": "q", "nope": 1}, "input 'nope': the flow has no such input (its inputs: question, n, flag, opts)"),
    ({"question": "q", "n": True}, "input 'n': expected an integer, got a boolean"),
    ({"question": "q", "n": "two"}, "input 'n': expected an integer, got str 'two'"),
    ({"question": "q", "flag": "yes"}, "input 'flag': expected true or false"),
    ({"question": "q", "opts": "[1]"}, "input 'opts': expected a JSON object, got list"),
    ({"question": "q", "opts": "{bad"}, "input 'opts': expected a JSON object, got text that is not JSON"),
    ({"question": ["q"]}, "input 'question': expected a string, got list"),
])
def test_bad_inputs_name_the_input(write_flow, raw, message):
    spec = load_spec(write_flow("good", GOOD))
    with pytest.raises(FlowInputError) as info:
        coerce_inputs(spec, raw)
    assert str(info.value).startswith(message)
    assert info.value.input == message.split("'")[1]


def test_references_parse_and_resolve():
    scope = Scope(inputs={"q": "hi"}, outputs={"n": {"a": {"b": [10, 20]}}, "gone": None},
                  item_name="page", item={"text": "t"}, index=3)
    assert resolve(parse_ref("${inputs.q}"), scope) == "hi"
    assert resolve(parse_ref("${n.output.a.b.1}"), scope) == 20
    assert resolve(parse_ref("${gone.output.x.y}"), scope) is None  # a bypassed node's keys are None too
    assert resolve(parse_ref("${page.text}", item="page"), scope) == "t"
    assert resolve(parse_ref("${index}", item="page"), scope) == 3
    assert parse_ref("${flow.q}") == Ref("inputs", "q", (), "${flow.q}")  # prompt flow's old alias
    assert parse_ref("plain text ${inputs.q}") is None and parse_ref(3) is None
    value = {"list": ["${inputs.q}", "lit"], "nested": {"x": "${n.output.a}"}}
    assert resolve_value(value, scope) == {"list": ["hi", "lit"], "nested": {"x": {"b": [10, 20]}}}
    with pytest.raises(KeyError, match=r"\$\{n.output.a.c\}: a has no key 'c' \(keys: b\)"):
        resolve(parse_ref("${n.output.a.c}"), scope)
    with pytest.raises(RefSyntaxError, match="not a reference"):
        parse_ref("${page.text}")  # outside a map, an item is unknown
    with pytest.raises(RefSyntaxError, match="empty name"):
        parse_ref("${inputs.}")


def test_aggregation_scopes_give_lists_over_lines():
    lines = [Scope({"q": "a"}, {"g": {"ok": True}}), Scope({"q": "b"}, {"g": {"ok": False}})]
    scope = Scope({}, {"agg1": 5}, lines=lines)
    assert resolve(parse_ref("${inputs.q}"), scope) == ["a", "b"]
    assert resolve(parse_ref("${g.output.ok}"), scope) == [True, False]
    assert resolve(parse_ref("${agg1.output}"), scope) == 5


def test_column_mapping_for_batch_runs():
    mapping = {"question": "${data.q}", "answer": "${run.outputs.answer}", "orig": "${run.inputs.question}", "k": 3}
    assert apply_column_mapping(mapping, {"q": "Q"}, run_inputs={"question": "Q0"}, run_outputs={"answer": "A"}) == {
        "question": "Q", "answer": "A", "orig": "Q0", "k": 3}
    with pytest.raises(KeyError, match=r"\$\{data.missing\}: 'missing' is not available"):
        apply_column_mapping({"x": "${data.missing}"}, {"q": 1})
    with pytest.raises(RefSyntaxError, match="a column mapping takes"):
        apply_column_mapping({"x": "${inputs.q}"}, {})


def test_tool_arguments_are_converted_from_hints():
    def tool_fn(count: int, ratio: float, flag: bool, names: list[str], opts: Optional[dict] = None,  # noqa: UP045
                label: str = "", anything=None):
        return count

    args = call_args(tool_fn, {"count": "2", "ratio": "0.5", "flag": "false", "names": '["a"]', "opts": None,
                               "label": 7, "anything": "raw"}, "node_a")
    assert args == {"count": 2, "ratio": 0.5, "flag": False, "names": ["a"], "opts": None, "label": "7",
                    "anything": "raw"}
    def unhinted(count=2, ratio=0.5, flag=False, label="x", anything=None):
        return count

    assert call_args(unhinted, {"count": "3", "ratio": "1", "flag": "true", "label": 4, "anything": "7"}, "n") == {
        "count": 3, "ratio": 1.0, "flag": True, "label": "4", "anything": "7"}  # typed by their defaults
    with pytest.raises(FlowNodeError, match=r"node 'node_a' failed: parameter 'count': expected an integer"):
        call_args(tool_fn, {"count": "x", "ratio": 1, "flag": True, "names": []}, "node_a")
    with pytest.raises(FlowNodeError, match=r"tool_fn\(\) has no parameter 'other'"):
        call_args(tool_fn, {"count": 1, "ratio": 1, "flag": True, "names": [], "other": 1}, "node_a")
    with pytest.raises(FlowNodeError, match=r"tool_fn\(\) needs 'ratio', 'flag', 'names'"):
        call_args(tool_fn, {"count": 1}, "node_a")


def test_scan_tools_reads_the_syntax_tree_without_running_the_file(tmp_path):
    path = tmp_path / "t.py"
    path.write_text("raise SystemExit('never run')\nfrom headrace.flows import tool\n@tool\n"
                    "async def a(x, y=1, *, z, **kw):\n    pass\n@tool(name='b')\ndef b():\n    pass\n"
                    "def helper():\n    pass\n")
    found = {t.name: t for t in scan_tools(path)}
    assert set(found) == {"a", "b"}
    assert found["a"].params == ("x", "y", "z") and found["a"].required == ("x", "z") and found["a"].var_keyword
